# One image per service, all from this file: `docker build --target api .` (docker compose does it).

# Native example plugins, built from source.
FROM rust:1-slim AS native
WORKDIR /src
COPY plugins/ plugins/
RUN for manifest in plugins/*/Cargo.toml; do cargo build --release --locked --manifest-path "$manifest"; done

FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /app
COPY . .
RUN uv sync --frozen --all-packages --no-dev
COPY --from=native /src/plugins/ /app/plugins/
ENV PATH=/app/.venv/bin:$PATH

FROM base AS api
EXPOSE 8000
ENV API_HOST=0.0.0.0 API_PORT=8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
CMD ["python", "-m", "clipforge_api"]

FROM base AS plugin-runner
# /metrics, /livez, /readyz (CLIPFORGE_HTTP_HOST=0.0.0.0 lets Prometheus reach them)
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/readyz', timeout=3)"
CMD ["python", "-m", "clipforge_plugin_runner"]

FROM base AS metadata
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/readyz', timeout=3)"
CMD ["python", "-m", "clipforge_metadata"]

FROM base AS admin
CMD ["python", "-m", "clipforge.admin", "init"]
