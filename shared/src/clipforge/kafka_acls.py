"""Who may do what on Kafka: one user per service, with only the topics and groups it needs, and
a read-only subscriber for the public topics.

The table comes from the topics' declarations (`clipforge.events.asyncapi.CHANNELS`: which
service publishes a topic, which ones read it in which consumer group), so a new topic or group
gets its ACLs where it is declared. A service writes the topics it publishes and the dead-letter
topics of what it reads; it reads the topics it consumes, in its own groups. Every producer is
idempotent, so each producing user may also IDEMPOTENT_WRITE on the cluster. The subscriber
reads the public topics, in any consumer group whose name starts with `subscriber-` (never in
clipforge's own groups, where it could take partitions from a service).

`python -m clipforge.admin init --acls` creates them (as a user allowed to: the super user);
`python -m clipforge.admin acls --dry-run` prints them, for a cluster whose ACLs are managed
elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, CreateAclsRequestStruct

from clipforge.events import Topics
from clipforge.events.asyncapi import CHANNELS
from clipforge.messaging import kafka_options
from clipforge.settings import Settings

SUBSCRIBER = "subscriber"
SUBSCRIBER_GROUP_PREFIX = "subscriber-"
PUBLIC_TOPICS = (
    Topics.CLIP_CAPTURED,
    Topics.CLIP_PROCESSED,
    Topics.CLIP_ENRICHED,
    Topics.CLIP_UPDATED,
    Topics.CLIP_DELETED,
)
"""What an outside subscriber may read: the clips' events (not plugin.changed, which carries
plugins' configuration, nor the dead letters, which carry whatever was sent)."""

DEFAULT_USERS = {"api": "api", "plugin-runner": "runner", "metadata": "metadata", SUBSCRIBER: SUBSCRIBER}
"""Each role's Kafka user (the devstack makes these): the services by name, and the subscriber."""

CLUSTER = "kafka-cluster"


class Resource(IntEnum):  # Kafka's ResourceType codes
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):  # Kafka's PatternType codes
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):  # Kafka's AclOperation codes
    READ = 3
    WRITE = 4
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


ALLOW = 3  # AclPermissionType


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding: `user` may `operation` on the resource (from any host)."""

    user: str
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL

    def __str__(self) -> str:
        prefixed = "*" if self.pattern is Pattern.PREFIXED else ""
        principal = f"User:{self.user}"
        return f"{principal:<16} {self.operation.name:<16} {self.resource.name.lower()} {self.name}{prefixed}"


def _role_acls(role: str, user: str) -> list[Acl]:
    if role == SUBSCRIBER:
        return [Acl(user, Resource.TOPIC, t, Operation.READ) for t in PUBLIC_TOPICS] + [
            Acl(user, Resource.GROUP, SUBSCRIBER_GROUP_PREFIX, Operation.READ, Pattern.PREFIXED)
        ]
    reads = [c for c in CHANNELS if any(service == role for service, _ in c.readers)]
    writes = {c.topic for c in CHANNELS if c.publisher == role}
    groups = {g for c in reads for service, g in c.readers if service == role and g is not None}
    acls = [Acl(user, Resource.TOPIC, c.topic, Operation.READ) for c in reads]
    acls += [Acl(user, Resource.TOPIC, t, Operation.WRITE) for t in sorted(writes)]
    acls += [Acl(user, Resource.GROUP, g, Operation.READ) for g in sorted(groups)]
    if writes:
        acls.append(Acl(user, Resource.CLUSTER, CLUSTER, Operation.IDEMPOTENT_WRITE))
    return acls


def clipforge_acls(users: Mapping[str, str] = DEFAULT_USERS) -> list[Acl]:
    """The ACLs of every role in `users` (role → Kafka user name). READ and WRITE include
    DESCRIBE in Kafka, so a reader can also look up offsets and a writer the topic's leaders."""
    unknown = set(users) - set(DEFAULT_USERS)
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(sorted(unknown))}; roles: {', '.join(DEFAULT_USERS)}")
    return [acl for role, user in users.items() for acl in _role_acls(role, user)]


class _CreateAcls(CreateAclsRequest):  # type: ignore[misc]
    """aiokafka's CreateAcls request sends one binding; Kafka takes a list in one request."""

    def __init__(self, acls: Iterable[Acl]) -> None:
        self._acls = list(acls)

    def build(self, request_struct_class: type[CreateAclsRequestStruct]) -> Any:
        if request_struct_class.API_VERSION < 1:  # no pattern types before v1
            raise ValueError("the broker is too old for prefixed ACLs (Kafka 2.0 or later needed)")
        return request_struct_class(
            [(a.resource, a.name, a.pattern, f"User:{a.user}", "*", a.operation, ALLOW) for a in self._acls]
        )


async def ensure_acls(settings: Settings, acls: Iterable[Acl]) -> None:
    """Create the bindings (those that exist already stay as they are), as the settings' user,
    which must be allowed to (a super user, or ALTER on the cluster). One request: quick."""
    acls = list(acls)
    client = AIOKafkaClient(**kafka_options(settings), client_id="clipforge-admin")
    await client.bootstrap()
    try:
        response = await client.send(client.get_random_node(), _CreateAcls(acls))
    finally:
        await client.close()
    for acl, (code, message) in zip(acls, response.creation_responses, strict=True):
        if code:
            raise for_code(code)(f"creating the ACL {acl}: {message}")
