# clipforge — `make dev` runs the stack, `make test` proves it. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
PY         := .venv/bin/python
CARGO      := $(shell command -v cargo || echo $(HOME)/.cargo/bin/cargo)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: help bootstrap deps native web web-test screenshots dev up down status reset test lint typecheck unit chaos docs integration e2e bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap:  ## system packages the stack needs (Postgres 15 binaries, Java, Maven), if missing
	@scripts/bootstrap-system.sh

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --frozen --all-packages -p python3.11
	@touch $@

deps: bootstrap .venv/.synced native  ## install everything (idempotent)
	@$(PY) -m clipforge_devstack fetch >/dev/null

native:  ## build the native (Rust) example plugins; cargo rebuilds only what changed
	@for manifest in plugins/*/Cargo.toml; do $(CARGO) build --release --locked --quiet --manifest-path $$manifest; done

# The web app: npm ci when the lockfile changes, a build (type check included) when a source does.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run --silent build -- --logLevel warn

web: web/dist/index.html  ## build the web app (served by the API at /)

web-test: web/node_modules/.installed  ## the web app's component tests (Vitest)
	cd web && npx vitest run --reporter=dot

screenshots: deps  ## retake the README's pictures of the web app (needs a running make dev)
	@scripts/bootstrap-system.sh --browser
	$(PY) scripts/readme_screenshots.py

dev: deps web  ## start Postgres, Kafka and the three services in the foreground (Ctrl-C stops all)
	@exec $(PY) -m clipforge_devstack dev

up: deps  ## start Postgres and Kafka in the background (migrated, topics created)
	@$(PY) -m clipforge_devstack up

down:  ## stop the background Postgres and Kafka
	@$(PY) -m clipforge_devstack down

status:  ## show whether the local servers run
	@$(PY) -m clipforge_devstack status

reset:  ## stop the local servers and delete their data
	@$(PY) -m clipforge_devstack reset

lint: deps  ## ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: deps  ## mypy
	$(PY) -m mypy

unit: deps  ## tests that need no server
	$(PY) -m pytest tests/unit -q

chaos: deps  ## the fault suite alone (make test runs it too): poison input, outages, kills, re-drive
	$(PY) -m pytest tests/e2e -m faults -q -p no:cacheprovider

docs: deps  ## regenerate the committed contracts: docs/asyncapi.json (events), docs/plugin.schema.json (plugin.json), web/src/api/openapi.json (the web app's API)
	@mkdir -p docs && $(PY) -m clipforge.events.asyncapi > docs/asyncapi.json
	@$(PY) -m clipforge_plugin_runner.native > docs/plugin.schema.json
	@$(PY) -c "import json; from clipforge_api.app import create_app; print(json.dumps(create_app().openapi()))" > web/src/api/openapi.json

test: deps lint typecheck web web-test  ## everything: lint, types, component, unit, integration and end-to-end (browser included) tests
	@scripts/bootstrap-system.sh --browser
	$(PY) -m pytest -q -p no:cacheprovider

bench: deps  ## the benchmark: ratios against same-run baselines (STAGES=..., BENCH_PROFILE=api,...)
	@scripts/bootstrap-system.sh --bench
	BENCH_PROFILE=$(BENCH_PROFILE) $(PY) -m bench $(STAGES)

clean:  ## remove the virtualenv and tool caches (not the server data: see reset)
	rm -rf .venv $(TOOLS) .mypy_cache .ruff_cache .pytest_cache web/node_modules web/dist
