"""How the code logs in to Kafka (one way: `kafka_options`, and FastStream's form of it), the ACL
table each user gets, and the local broker's users and configuration."""

from __future__ import annotations

import functools
import ssl
import stat
from pathlib import Path
from typing import Any

import pytest
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512

from clipforge.events import Topics
from clipforge.events.asyncapi import CHANNELS
from clipforge.kafka_acls import (
    DEFAULT_USERS,
    PUBLIC_TOPICS,
    Acl,
    Operation,
    Pattern,
    Resource,
    clipforge_acls,
)
from clipforge.messaging import broker_security, kafka_options, make_broker
from clipforge.settings import Settings
from clipforge_devstack.kafka import ADMIN, SERVICE_USERS, USERS, KafkaCredentials, LocalKafka


def settings(**env: Any) -> Settings:
    base: dict[str, Any] = {
        "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "KAFKA_USERNAME": "",
        "KAFKA_PASSWORD": "",
        "KAFKA_SSL_CAFILE": "",
    }
    return Settings(**{**base, **env})


def test_plaintext_is_just_the_address() -> None:
    plain = settings()
    assert kafka_options(plain) == {"bootstrap_servers": "broker:9092", "security_protocol": "PLAINTEXT"}
    assert broker_security(plain) is None


@pytest.mark.parametrize(
    ("mechanism", "kind"),
    [("SCRAM-SHA-256", SASLScram256), ("SCRAM-SHA-512", SASLScram512), ("PLAIN", SASLPlaintext)],
)
def test_sasl_logs_in_with_the_mechanism(mechanism: str, kind: type[Any]) -> None:
    login = settings(
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_USERNAME="api",
        KAFKA_PASSWORD="s3cret",
    )
    options = kafka_options(login)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == mechanism
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("api", "s3cret")
    assert "ssl_context" not in options
    security = broker_security(login)
    assert isinstance(security, kind)
    assert (security.username, security.password, security.use_ssl) == ("api", "s3cret", False)


def test_tls_gets_a_context_and_keeps_the_login() -> None:
    login = settings(KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_USERNAME="api", KAFKA_PASSWORD="s3cret")
    options = kafka_options(login)
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    security = broker_security(login)
    assert isinstance(security, SASLScram256)
    assert security.use_ssl
    assert security.ssl_context is not None
    tls_only = broker_security(settings(KAFKA_SECURITY_PROTOCOL="SSL"))
    assert tls_only is not None
    assert tls_only.use_ssl
    assert not isinstance(tls_only, SASLScram256)


def test_sasl_without_a_user_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="KAFKA_USERNAME and KAFKA_PASSWORD"):
        kafka_options(settings(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT"))


def test_the_broker_logs_in_as_the_settings_say() -> None:
    login = settings(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_USERNAME="api", KAFKA_PASSWORD="s3cret")
    broker = make_broker(login, client_id="unit")
    builder = broker.config.broker_config.builder  # a partial of AIOKafkaConsumer: its consumers
    assert isinstance(builder, functools.partial)
    consumers = builder.keywords
    assert consumers["security_protocol"] == "SASL_PLAINTEXT"
    assert consumers["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (consumers["sasl_plain_username"], consumers["sasl_plain_password"]) == ("api", "s3cret")


def allowed(acls: list[Acl], operation: Operation, topic: str) -> set[str]:
    return {
        a.user for a in acls if a.resource is Resource.TOPIC and a.name == topic and a.operation is operation
    }


def test_each_topic_is_written_by_its_publisher_only() -> None:
    acls = clipforge_acls()
    assert allowed(acls, Operation.WRITE, Topics.CLIP_PROCESSED) == {"runner"}
    assert allowed(acls, Operation.WRITE, Topics.CLIP_CAPTURED) == {"api"}
    assert allowed(acls, Operation.WRITE, Topics.CLIP_ENRICHED) == {"metadata"}
    assert allowed(acls, Operation.WRITE, Topics.dlq(Topics.CLIP_PROCESSED)) == {"metadata"}
    assert allowed(acls, Operation.WRITE, Topics.dlq(Topics.CLIP_CAPTURED)) == {"runner"}
    for topic in Topics.all():
        assert len(allowed(acls, Operation.WRITE, topic)) == 1, topic


def test_every_consumer_can_read_its_topics_in_its_groups() -> None:
    acls = clipforge_acls()
    for channel in CHANNELS:
        for service, group in channel.readers:
            user = DEFAULT_USERS[service]
            assert user in allowed(acls, Operation.READ, channel.topic)
            if group is not None:
                assert Acl(user, Resource.GROUP, group, Operation.READ) in acls
    producers = {a.user for a in acls if a.operation is Operation.WRITE}
    idempotent = {a.user for a in acls if a.operation is Operation.IDEMPOTENT_WRITE}
    assert producers == idempotent == {"api", "runner", "metadata"}


def test_the_subscriber_only_reads_the_public_topics_in_its_own_groups() -> None:
    mine = [a for a in clipforge_acls() if a.user == "subscriber"]
    assert {a.operation for a in mine} == {Operation.READ}
    assert {a.name for a in mine if a.resource is Resource.TOPIC} == set(PUBLIC_TOPICS)
    (group,) = [a for a in mine if a.resource is Resource.GROUP]
    assert (group.name, group.pattern) == ("subscriber-", Pattern.PREFIXED)
    assert not set(PUBLIC_TOPICS) & {Topics.PLUGIN_CHANGED, *(t for t in Topics.all() if t.endswith(".dlq"))}


def test_other_user_names_and_unknown_roles() -> None:
    acls = clipforge_acls({**DEFAULT_USERS, "plugin-runner": "svc-runner"})
    assert allowed(acls, Operation.WRITE, Topics.CLIP_PROCESSED) == {"svc-runner"}
    with pytest.raises(ValueError, match="unknown role"):
        clipforge_acls({"janitor": "x"})


def test_the_devstack_makes_the_users_the_acls_name() -> None:
    assert set(USERS) == {ADMIN, *DEFAULT_USERS.values()}
    assert {s: DEFAULT_USERS[s] for s in SERVICE_USERS} == SERVICE_USERS


def test_credentials_are_an_env_file_for_the_owner_only(tmp_path: Path) -> None:
    made = KafkaCredentials.generate()
    assert len(set(made.passwords.values())) == len(USERS)
    path = tmp_path / "kafka-credentials.env"
    made.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for line in ("KAFKA_SASL_MECHANISM=SCRAM-SHA-256", "KAFKA_SUBSCRIBER_USERNAME=subscriber"):
        assert line in text.splitlines()
    assert f"KAFKA_SUBSCRIBER_PASSWORD={made.passwords['subscriber']}" in text.splitlines()
    assert KafkaCredentials.read(path) == made
    assert made.env_for("runner") == {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_USERNAME": "runner",
        "KAFKA_PASSWORD": made.passwords["runner"],
    }


def test_the_local_broker_has_no_door_without_a_login(tmp_path: Path) -> None:
    kafka = LocalKafka(tmp_path / "kafka", port=19092, controller_port=19093)
    users = kafka.credentials
    assert users is not None
    assert kafka.credentials_path == tmp_path / "kafka-credentials.env"
    assert kafka.credentials == users, "made once, then read back"
    properties = dict(line.split("=", 1) for line in kafka._properties(users).splitlines() if "=" in line)
    protocols = dict(p.split(":") for p in properties["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:admin"
    assert properties["authorizer.class.name"].endswith("StandardAuthorizer")
    assert all(
        f"name={user}," in arg
        for user, arg in zip(users.passwords, users.scram_arguments()[::2], strict=True)
    )
    kafka.reset()
    assert not kafka.credentials_path.exists(), "reset forgets the users with the data"
