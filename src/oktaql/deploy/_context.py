"""Templates in a stack: manifest values (globals, props, ``if``) and the names a template uses.

Manifest values are text, rendered in the same Jinja sandbox as SQL templates
(:mod:`oktaql._sandbox`); ``.iql`` statements are rendered by :func:`oktaql.templates.render`
when they run, so a value always lands in SQL as data. What this module adds is knowing, before
anything runs, which variables each template reads and on which line, so that a name without a
value fails at load time naming file, line and key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from oktaql._sandbox import MAX_SIZE, render_sandboxed, sandbox_environment
from oktaql.deploy._model import Resource, Where
from oktaql.errors import DeployError, TemplateError

# what a value from a later stage reads as while it is unknown (dry run, plan before a create)
UNKNOWN = "<known after apply>"

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # a variable's (or a resource's) name
_ONE_EXPRESSION = re.compile(r"^\s*\{\{-?\s*([A-Za-z_][\w.]*)\s*-?\}\}\s*$")


@functools.cache
def _env() -> Any:
    return sandbox_environment(lambda value, _index: str(value))


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def variables_in(source: str, where: Where, first_line: int | None = None) -> dict[str, int]:
    """The variables ``source`` reads and not sets itself, each with the (1-based) line of its
    first use within ``source``. ``first_line``: the file's line ``source`` starts on (a
    syntax error then names the file's line)."""
    if not has_template(source):
        return {}
    import jinja2
    from jinja2 import meta, nodes

    try:
        ast = _env().parse(source)
    except jinja2.TemplateSyntaxError as exc:
        line = where.line if first_line is None else first_line + (exc.lineno or 1) - 1
        raise DeployError(
            f"template syntax error: {exc.message}", Where(where.file, line, where.key)
        ) from None
    free = meta.find_undeclared_variables(ast)
    out: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in free and node.name not in out:
            out[node.name] = node.lineno
    return out


def render_value(value: Any, context: Mapping[str, Any], where: Where) -> Any:
    """A manifest value with its templates filled; ``{{ name }}`` alone keeps the value's type
    (a list stays a list), anything else renders to text. Dicts and lists are rendered inside."""
    if isinstance(value, dict):
        return {k: render_value(v, context, where) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, where) for v in value]
    if not isinstance(value, str) or not has_template(value):
        return value
    alone = _ONE_EXPRESSION.match(value)
    if alone:
        head, *rest = alone.group(1).split(".")
        if head in context:
            found: Any = context[head]
            for part in rest:
                if not isinstance(found, Mapping) or part not in found:
                    break
                found = found[part]
            else:
                return found
    try:
        return render_sandboxed(lambda: _Capped(_env().from_string(value)), dict(context))
    except TemplateError as exc:
        raise DeployError(str(exc), where) from None


class _Capped:
    """A template rendered piece by piece, refused once its text passes ``MAX_SIZE``: a loop
    that runs away stops there, not after filling memory and a request URL."""

    def __init__(self, template: Any):
        self._template = template

    def render(self, context: dict[str, Any]) -> str:
        out: list[str] = []
        size = 0
        for piece in self._template.generate(context):
            size += len(piece)
            if size > MAX_SIZE:
                raise TemplateError(
                    f"template refused: its text passes {MAX_SIZE} characters (a loop that runs "
                    "away?); a manifest value is a name, a URL, a short text"
                )
            out.append(piece)
        return "".join(out)


def resource_context(base: Mapping[str, Any], r: Resource) -> dict[str, Any]:
    """What ``r``'s templates see, for .iql and declarative resources alike: ``base`` (globals,
    stack_name, stack_env, the exports so far), ``resource_name``, and its props, each rendered
    seeing the ones above it, with the values its ``merge`` names merged in."""
    ctx: dict[str, Any] = {**base, "resource_name": r.name}
    for name, value in r.props.items():
        where = r.prop_where.get(name, r.where)
        rendered = render_value(value, ctx, where)
        for other in r.prop_merge.get(name, ()):
            rendered = _merged(rendered, other, ctx, where)
        ctx[name] = rendered
    return ctx


def _merged(value: Any, name: str, ctx: Mapping[str, Any], where: Where) -> Any:
    """stackql-deploy's ``merge``: a list prop gets the named list's items after its own, an
    object prop the named object's keys (which win); both must be of the same kind."""
    if name not in ctx:
        raise DeployError(f"merge: {name!r} has no value (a global or an export above)", where)
    other = ctx[name]
    if isinstance(other, str) and other == UNKNOWN:
        return UNKNOWN
    if isinstance(value, list) and isinstance(other, list):
        return [*value, *other]
    if isinstance(value, dict) and isinstance(other, dict):
        return {**value, **other}
    raise DeployError(
        f"merge: {name!r} is {_kind(other)} and the prop's value {_kind(value)}: merge lists "
        "into a list, "
        "objects into an object",
        where,
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def condition(text: Any, context: Mapping[str, Any], where: Where) -> bool:
    """A resource's ``if``: its placeholders filled, then read as one Jinja expression
    (``'{{ stack_env }}' == 'prd'`` as stackql-deploy writes it, or ``stack_env == 'prd'``)."""
    if isinstance(text, bool):
        return text
    rendered = render_value(str(text), context, where)
    if isinstance(rendered, bool):
        return rendered
    ctx = dict(context)

    def compiled() -> _Result:
        expression = _env().compile_expression(str(rendered), undefined_to_none=False)
        return _Result(expression, ctx)

    try:
        return render_sandboxed(compiled, {}) == "True"
    except TemplateError as exc:
        raise DeployError(f"`if` {rendered!r} is not a condition: {exc}", where) from None


class _Result:
    """Lets :func:`render_sandboxed` report an expression's errors as it reports templates'."""

    def __init__(self, expression: Any, context: dict[str, Any]):
        self._value = expression(**context)

    def render(self, _context: Any) -> str:
        return str(bool(self._value))


__all__ = [
    "NAME",
    "UNKNOWN",
    "condition",
    "has_template",
    "render_value",
    "resource_context",
    "variables_in",
]
