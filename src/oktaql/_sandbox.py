"""The Jinja2 sandbox templates render in: no globals, no attribute starting with ``_``, no
include/import/extends, bounded ``*`` and ``**``; every failure one :class:`TemplateError`.

A ``.sql`` file from a stranger is safe to render (``--dry-run``): it can read its variables
with Jinja's filters and tests, and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from oktaql.errors import Error, TemplateError

GONE_GLOBALS = {"range", "dict", "cycler", "joiner", "namespace", "lipsum"}
MAX_SIZE = 100_000  # longest string or list a template's `*` may build


def missing_variable(name: str) -> TemplateError:
    hint = f"--var {name}=VALUE" if name else "--var NAME=VALUE"
    gone = (
        f" (Jinja's {name}() is not available in oktaql templates)" if name in GONE_GLOBALS else ""
    )
    return TemplateError(f"template variable {name or '?'} has no value: pass it with {hint}{gone}")


def render_sandboxed(compiled: Callable[[], Any], context: dict[str, Any]) -> str:
    """``compiled()``'s template rendered with ``context``; whatever goes wrong, compiling or
    rendering, is one :class:`TemplateError` (or the oktaql error an expression raised)."""
    import jinja2
    from jinja2.sandbox import SecurityError

    try:
        return str(compiled().render(context))
    except Error:
        raise
    except SecurityError as exc:
        raise TemplateError(
            f"template refused: {exc} Templates read their variables with Jinja's filters and "
            "tests; attributes starting with '_' and Python internals are out of reach"
        ) from None
    except jinja2.UndefinedError as exc:
        m = re.search(r"'([^']+)' is undefined", str(exc))
        raise (
            missing_variable(m.group(1)) if m else TemplateError(f"template error: {exc}")
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound:
        raise TemplateError("templates cannot include, import or extend other files") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}") from None
    except Exception as exc:  # an expression failed (1/0, int('x') ...): the template's fault
        raise TemplateError(f"template error: {type(exc).__name__}: {exc}") from None


def only_marked_output(env: Any, source: str) -> None:
    """Every ``{{ }}`` Jinja will print must end in our escaping filter (a defused comment or a
    stray brace must never turn into a raw one)."""
    tail: list[str] = []
    for _, kind, value in env.lex(source):
        if kind == "variable_begin":
            tail = []
        elif kind == "variable_end":
            if tail[-5:-3] != ["|", "_oktaql"] or tail[-3] != "(" or tail[-1] != ")":
                raise TemplateError("a '{{' that is no placeholder: write '{ {' for the text")
        elif kind != "whitespace":
            tail.append(value)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse the one-liners that would take all memory: ``'a' * 10**12``, ``9 ** 10**9``."""
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(n, int)
                and len(seq) * n > MAX_SIZE
            ):
                raise TemplateError(f"template refused: a value over {MAX_SIZE} long")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right * abs(left).bit_length() > 4096:
            raise TemplateError("template refused: a number over 4096 bits")


def sandbox_environment(emit_value: Callable[[Any, int], str]) -> Any:
    """Jinja's immutable sandbox with no globals; ``_oktaql`` is the escaping filter."""
    import jinja2  # only statements with placeholders pay for Jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

    env = Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        loader=jinja2.DictLoader({}),
    )
    env.globals.clear()  # range, dict, cycler, joiner, namespace, lipsum: none is documented

    @jinja2.pass_context  # never folded into a constant when compiling: it records each value
    def emit(_context: Any, value: Any, index: int) -> str:
        return emit_value(value, index)

    env.filters["_oktaql"] = emit
    return env
