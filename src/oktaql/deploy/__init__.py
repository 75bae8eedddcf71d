"""Deploy: Okta configuration as code (``oktaql deploy``).

A stack is stackql-deploy's format (``stackql_manifest.yml`` and ``resources/*.iql``) plus
declarative resources; :func:`load_stack` reads and checks it, the ``.iql`` runner
(``_iql``) and the declarative engine (``_declarative``) plan and apply it, and
:data:`deploy_command` is the command line.
"""

from __future__ import annotations

from typing import Any

from oktaql.deploy._manifest import load_stack
from oktaql.deploy._model import (
    Anchor,
    Change,
    Declarative,
    FieldChange,
    PlannedRequest,
    Resource,
    Stack,
    Where,
)


def __getattr__(name: str) -> Any:
    if name == "deploy_command":  # click and the runner load only when the CLI asks
        from oktaql.deploy._cli import deploy_command

        return deploy_command
    raise AttributeError(f"module 'oktaql.deploy' has no attribute {name!r}")


__all__ = [
    "Anchor",
    "Change",
    "Declarative",
    "FieldChange",
    "PlannedRequest",
    "Resource",
    "Stack",
    "Where",
    "deploy_command",
    "load_stack",
]
