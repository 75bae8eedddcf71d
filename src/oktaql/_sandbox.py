"""The Jinja2 sandbox templates render in: no globals, no attribute starting with ``_``, no
include/import/extends, and a budget (:mod:`oktaql._template_limits`: loop steps, nesting,
characters, widths, a deadline); every failure one :class:`TemplateError`.

A ``.sql`` file from a stranger is safe to render (``--dry-run``): it can read its variables
with Jinja's filters and tests, and nothing else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from oktaql import _template_limits as limits
from oktaql._template_limits import MAX_SIZE as MAX_SIZE  # deploy's manifest values use it
from oktaql._template_limits import check_binop
from oktaql.errors import Error, TemplateError

GONE_GLOBALS = {"range", "dict", "cycler", "joiner", "namespace", "lipsum"}
LOOP_FILTER = "_oktaql_loop"  # what every {% for %}'s iterable is passed through


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

    budget = limits.start()
    try:
        return str(compiled().render(context))
    except Error:
        raise
    except RecursionError:
        raise limits.nested_too_deeply() from None
    except MemoryError:
        raise TemplateError(
            "template refused: it ran out of memory building a value: build smaller values"
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            f"template refused: {exc} Templates read their variables with Jinja's filters and "
            "tests; attributes starting with '_' and Python internals are out of reach"
        ) from None
    except jinja2.UndefinedError as exc:
        m = re.search(r"'([^']+)' is undefined", str(exc))
        raise (
            missing_variable(m.group(1)) if m else TemplateError(f"template error: {_short(exc)}")
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound:
        raise TemplateError("templates cannot include, import or extend other files") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {_short(exc)}") from None
    except Exception as exc:  # an expression failed (1/0, int('x') ...): the template's fault
        raise TemplateError(f"template error: {type(exc).__name__}: {_short(exc)}") from None
    finally:
        limits.stop(budget)


def _short(exc: BaseException) -> str:
    """An error's text, cut short: Python's own may quote a 100,000-character value whole."""
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."


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


def sandbox_environment(emit_value: Callable[[Any, int], str]) -> Any:
    """Jinja's immutable sandbox with no globals, every step within the render's budget;
    ``_oktaql`` is the escaping filter."""
    import jinja2  # only statements with placeholders pay for Jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = _generator_class()

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            check_binop(operator, left, right)
            out = super().call_binop(context, operator, left, right)
            _spent(out)
            return out

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            budget = limits.enter()
            try:
                limits.check_method(__obj, args, kwargs)
                out = super().call(__context, __obj, *args, **kwargs)
            finally:
                if budget is not None:
                    budget.depth -= 1
            _spent(out, "a call")
            return out

        def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            return _bounded_format(self, value)

        def oktaql_concat(self, values: tuple[Any, ...], markup: bool) -> str:
            """``a ~ b``: measured before it is built."""
            limits.check_estimate("'~'", sum(limits.printed_size(v) for v in values))
            out = jinja2.runtime.markup_join(values) if markup else "".join(map(str, values))
            limits.spend(len(out))
            return str(out) if not markup else out

    env = Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        loader=jinja2.DictLoader({}),
        finalize=_finalize,
    )
    env.globals.clear()  # range, dict, cycler, joiner, namespace, lipsum: none is documented
    for name, func in list(env.filters.items()):
        env.filters[name] = _budgeted_filter(name, func)

    @jinja2.pass_context  # never folded into a constant: each loop is counted when it runs
    def loop(_context: Any, items: Any, weight: int) -> Any:
        if isinstance(items, jinja2.Undefined):
            return items
        return limits.Counted(items, weight)

    env.filters[LOOP_FILTER] = loop

    @jinja2.pass_context  # never folded into a constant when compiling: it records each value
    def emit(_context: Any, value: Any, index: int) -> str:
        return emit_value(value, index)  # measured there, where the value has a name

    env.filters["_oktaql"] = emit
    return env


def _spent(value: Any, what: str = "an operator") -> None:
    if isinstance(value, str | list | tuple | dict):
        limits.check_built(value, what)
        limits.spend(len(value))


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` output, counted against the render's characters."""
    limits.spend(limits.printed_size(value))
    return value


def _budgeted_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = limits.FILTER_CHECKS.get(name)
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    what = f"the {name} filter"

    @functools.wraps(func)  # keeps jinja_pass_arg: Jinja still passes the context it wants
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        limits.tick()
        if check is not None:
            value = check(*args[skip:], **kwargs)
            if value is not None:
                args = (*args[:skip], value, *args[skip + 1 :])
        out = func(*args, **kwargs)
        _spent(out, what)
        return out

    return budgeted


def _bounded_format(env: Any, method: Any) -> Callable[..., str]:
    """``'{:>{w}}'.format(x, w=...)`` in the sandbox, each field's width checked once filled."""
    from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
    from markupsafe import Markup

    text: str = method.__self__
    markup = isinstance(text, Markup)

    class Formatter(SandboxedEscapeFormatter if markup else SandboxedFormatter):  # type: ignore[misc]
        def format_field(self, value: Any, format_spec: str) -> Any:
            limits.check_format_field(value, format_spec)
            return super().format_field(value, format_spec)

    is_map = method.__name__ == "format_map"

    def bounded(*args: Any, **kwargs: Any) -> str:
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            mapping: Any = args[0]
            args, kwargs = (), mapping
        formatter = Formatter(env, escape=text.escape) if markup else Formatter(env)  # type: ignore[attr-defined]
        out = type(text)(formatter.vformat(text, args, kwargs))
        _spent(out, "format()")
        return out

    return bounded


@functools.cache
def _generator_class() -> Any:
    """Jinja's code generator, with every loop's iterable counted and ``~`` measured."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame, optimizeconst

    class Generator(CodeGenerator):
        def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
            for loop in node.find_all(nodes.For):
                it = loop.iter
                if isinstance(it, nodes.Filter) and it.name == LOOP_FILTER:
                    continue
                loop.iter = nodes.Filter(
                    it, LOOP_FILTER, [nodes.Const(_weight(loop))], [], None, None,
                    lineno=it.lineno,
                )  # fmt: skip
            super().visit_Template(node, frame)

        @optimizeconst
        def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
            if frame.eval_ctx.volatile:
                markup = "context.eval_ctx.volatile"
            else:
                markup = "True" if frame.eval_ctx.autoescape else "False"
            self.write("environment.oktaql_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write(f"), {markup})")

    return Generator


def _weight(loop: Any) -> int:
    """The characters of text a loop's body writes each time round, at least 1."""
    from jinja2 import nodes

    total = 1
    for part in loop.body:
        for n in (part, *part.find_all((nodes.TemplateData, nodes.Const))):
            if isinstance(n, nodes.TemplateData):
                total += len(n.data)
            elif isinstance(n, nodes.Const) and isinstance(n.value, str):
                total += len(n.value)
    return total
