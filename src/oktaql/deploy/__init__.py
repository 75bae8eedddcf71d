"""Deploy: Okta configuration as code (``oktaql deploy``), usable from Python too.

A stack is stackql-deploy's format (``stackql_manifest.yml`` and ``resources/*.iql``) plus
declarative resources. From Python::

    from oktaql.deploy import apply_changes, load_stack, plan_resources
    from oktaql.session import Session

    session = Session(org_url=..., token=...)
    stack = load_stack("stacks/baseline", "dev", catalog=session.catalog)
    context = {"stack_name": stack.name, "stack_env": stack.env, **stack.globals}
    changes = plan_resources(session, stack, stack.resources, context)   # reads only
    report = apply_changes(session, stack, changes, context)             # exactly that plan

:func:`load_stack` reads and checks a stack; :func:`plan_resources`, :func:`plan_teardown` and
:func:`apply_changes` plan and apply its declarative resources; :class:`StackRunner` builds,
plans, tests and tears down a whole stack (``.iql`` and declarative resources in manifest
order, as the command line does); :func:`export_stack` writes a stack from live objects;
:data:`deploy_command` is the command line. The engine modules load when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from oktaql.deploy._cli import deploy_command
    from oktaql.deploy._declarative import (
        ApplyReport,
        apply_changes,
        plan_resources,
        plan_teardown,
    )
    from oktaql.deploy._export import Exported, export_stack
    from oktaql.deploy._manifest import load_stack
    from oktaql.deploy._stack import StackRunner

# name -> the module that defines it (loaded on first use: the engine imports the planner, the
# manifest reader the provider model; `oktaql --help` needs neither)
_LAZY = {
    "deploy_command": "oktaql.deploy._cli",
    "load_stack": "oktaql.deploy._manifest",
    "ApplyReport": "oktaql.deploy._declarative",
    "apply_changes": "oktaql.deploy._declarative",
    "plan_resources": "oktaql.deploy._declarative",
    "plan_teardown": "oktaql.deploy._declarative",
    "Exported": "oktaql.deploy._export",
    "export_stack": "oktaql.deploy._export",
    "StackRunner": "oktaql.deploy._stack",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oktaql.deploy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Anchor",
    "ApplyReport",
    "Change",
    "Declarative",
    "Exported",
    "FieldChange",
    "PlannedRequest",
    "Resource",
    "Stack",
    "StackRunner",
    "Where",
    "apply_changes",
    "deploy_command",
    "export_stack",
    "load_stack",
    "plan_resources",
    "plan_teardown",
]
