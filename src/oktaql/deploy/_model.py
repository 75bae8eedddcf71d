"""What a stack is, and what a plan says about it: the types every deploy stage shares.

A stack is read once (``_manifest``) into these types; the ``.iql`` runner (``_iql``) and the
declarative engine (``_declarative``) each turn resources into :class:`Change` rows, and the
CLI (``_cli``) prints, saves and applies them. Nothing here sends a request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Action = Literal["create", "update", "none", "delete"]
ResourceType = Literal["resource", "query", "multi", "script", "command", "declarative"]


@dataclass(frozen=True)
class Where:
    """Where in the stack a thing was written: errors name it as ``file:line: key``."""

    file: str
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: {self.key}" if self.key else at


@dataclass(frozen=True)
class Declarative:
    """A resource stated as the object it should be, not as the SQL that makes it."""

    resource: str  # provider.service.resource, e.g. okta.groups.groups
    match: dict[str, Any]  # dotted field -> value that finds the live object
    desired: dict[str, Any]  # the API's JSON body, as written (templated later)
    lifecycle: dict[str, Any] = field(default_factory=dict)  # e.g. {"status": "ACTIVE"}


@dataclass(frozen=True)
class Anchor:
    """One query of an ``.iql`` file: what follows ``/*+ name, option=value */``, as written
    (rendered when it runs). Added for the .iql runner (_iql); declarative resources have none."""

    name: str  # exists, statecheck, create, update, createorupdate, exports, delete, command
    sql: str
    where: Where  # the file and the line of the anchor
    first_line: int = 0  # the line the query starts on (errors inside it count from here)
    retries: int = 1
    retry_delay: float = 0.0
    postdelete_retries: int = 1
    postdelete_retry_delay: float = 0.0


@dataclass(frozen=True)
class Resource:
    name: str
    type: ResourceType
    where: Where
    file: Path | None = None  # the .iql file (resource/query/multi), or the script
    props: dict[str, Any] = field(default_factory=dict)  # resolved for the stack's env
    exports: tuple[tuple[str, str], ...] = ()  # (column, exported name)
    protected: tuple[str, ...] = ()
    condition: str | None = None  # the manifest's `if`
    declarative: Declarative | None = None
    # added for the .iql runner; defaults keep older callers working
    queries: dict[str, Anchor] = field(default_factory=dict)  # anchor name -> query
    run: str | None = None  # a script resource's command (templated)
    prop_where: dict[str, Where] = field(default_factory=dict)  # where each prop is written
    prop_merge: dict[str, tuple[str, ...]] = field(default_factory=dict)  # prop -> merge names


@dataclass(frozen=True)
class Stack:
    root: Path
    name: str
    env: str
    version: int | str
    description: str
    providers: tuple[str, ...]
    globals: dict[str, Any]
    resources: tuple[Resource, ...]
    digest: str = ""  # sha256 of the manifest, its files and the env vars given (saved plans)
    exports: tuple[str, ...] = ()  # the manifest's top-level exports (--output-file writes them)


@dataclass(frozen=True)
class FieldChange:
    field: str  # dotted path, e.g. profile.description
    old: Any
    new: Any


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request apply would send, secrets masked."""

    method: str
    url: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


@dataclass(frozen=True)
class Change:
    name: str  # the resource's name in the manifest
    action: Action
    changes: tuple[FieldChange, ...] = ()
    requests: tuple[PlannedRequest, ...] = ()
    note: str | None = None
    # what the resource exports for later resources (declarative: from the live object, or
    # "<known after apply>" before it exists); may hold secrets: never printed
    exports: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
            "requests": [
                {
                    "method": r.method,
                    "url": r.url,
                    **({"body": r.body} if r.body is not None else {}),
                }
                for r in self.requests
            ],
        }
