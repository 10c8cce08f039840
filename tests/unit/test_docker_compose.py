"""docker-compose.yml cannot run here (no Docker engine), so check it agrees with the code:
service names, ports, build targets, and the environment variables the settings read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from clipforge.kafka_acls import DEFAULT_USERS
from clipforge.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def setting_env_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []))
    return names


def test_services_and_ports() -> None:
    services = compose()["services"]
    assert {"postgres", "kafka", "init", "api", "plugin-runner", "metadata"} <= services.keys()
    # published on the loopback interface only: nothing reachable from the network by default
    assert services["api"]["ports"] == ["${CLIPFORGE_BIND:-127.0.0.1}:8000:8000"]
    assert services["kafka"]["ports"] == ["${CLIPFORGE_BIND:-127.0.0.1}:9092:9092"]
    assert services["postgres"]["ports"] == ["${CLIPFORGE_BIND:-127.0.0.1}:5432:5432"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    # scalable with --scale: no fixed name, no published port
    assert "container_name" not in services["plugin-runner"]
    assert "ports" not in services["plugin-runner"]


def test_every_clipforge_variable_is_one_the_code_reads() -> None:
    known = setting_env_names()
    for name in ("api", "plugin-runner", "metadata", "init"):
        env = compose()["services"][name]["environment"]
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(env)


def test_urls_point_at_the_compose_services() -> None:
    env = compose()["services"]["api"]["environment"]
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    host = env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0]
    kafka_env = compose()["services"]["kafka"]["environment"]
    assert f"//{env['KAFKA_BOOTSTRAP_SERVERS']}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert host == "kafka"


def test_health_conditions_and_build_targets() -> None:
    services = compose()["services"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.M))
    for name in ("api", "plugin-runner", "metadata", "init"):
        target = services[name]["build"]["target"]
        assert target in targets, f"{name} builds missing target {target}"
    for name in ("postgres", "kafka"):
        assert "healthcheck" in services[name]
    assert services["init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("api", "plugin-runner", "metadata"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"


def test_kafka_takes_logins_only_and_each_service_has_its_own() -> None:
    services = compose()["services"]
    kafka = services["kafka"]["environment"]
    protocols = dict(item.split(":") for item in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, "no listener lets an anonymous client in"
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_SUPER_USERS"] == "User:admin"
    script = services["kafka"]["command"][0]
    assert "kafka-storage.sh format" in script
    assert "--add-scram" in script
    stored = {name.removeprefix("SCRAM_PASSWORD_") for name in kafka if name.startswith("SCRAM_PASSWORD_")}
    assert stored == {"admin", *DEFAULT_USERS.values()}
    assert all(f" {user} " in script.replace(";", " ") for user in stored), "every user is created"

    users = {"init": "admin", **{name: DEFAULT_USERS[name] for name in ("api", "plugin-runner", "metadata")}}
    for name, user in users.items():
        env = services[name]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_USERNAME"] == user
        assert env["KAFKA_PASSWORD"] == f"${{KAFKA_{user.upper()}_PASSWORD}}"
    assert services["init"]["command"][-1] == "--acls", "the init job creates the users' ACLs"


def test_every_service_is_health_checked_on_its_readyz() -> None:
    services = compose()["services"]
    defaults = Settings()
    ports = {
        "api": defaults.api_port,
        "plugin-runner": defaults.runner_http_port,
        "metadata": defaults.metadata_http_port,
    }
    for name, port in ports.items():
        check = services[name]["healthcheck"]
        assert check["test"][:2] == ["CMD", "python"], "the images have no curl"
        assert f"http://127.0.0.1:{port}/readyz" in check["test"][-1], name
    for name in ("plugin-runner", "metadata"):
        env = services[name]["environment"]
        assert env["CLIPFORGE_HTTP_HOST"] == "0.0.0.0", "Prometheus reaches the workers over the network"
        assert services[name]["expose"] == [str(ports[name])]
        assert "ports" not in services[name], "the workers' metrics are not published"
    assert services["plugin-runner"]["environment"]["RUNNER_HTTP_PORT"] == str(ports["plugin-runner"])
    assert services["metadata"]["environment"]["METADATA_HTTP_PORT"] == str(ports["metadata"])


def test_prometheus_and_grafana_come_with_the_observability_profile() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
    for name in ("api", "plugin-runner", "metadata", "postgres", "kafka", "init"):
        assert "profiles" not in services[name], "the stack itself runs without the profile"
    mounted = [v.split(":")[0] for n in ("prometheus", "grafana") for v in services[n]["volumes"]]
    files = [m for m in mounted if m.startswith("./")]
    assert {"./deploy/prometheus/prometheus.yml", "./deploy/grafana/clipforge.json"} <= set(files)
    assert all((ROOT / f).is_file() for f in files), files
    assert services["grafana"]["ports"] == ["${CLIPFORGE_BIND:-127.0.0.1}:3000:3000"]
