"""How much one template render may do, so a hostile template fails fast instead of hanging or
filling memory: loop iterations, nested calls, characters built, sizes and widths, a deadline.

The budget lives in a context variable (renders run on server threads and in asyncio tasks
too), and is checked in the sandbox's hooks: every loop step, call, filter, intercepted
operator and ``{{ }}`` output. No signals: the deadline is read at those checks, and every step
between two checks is itself bounded by the size limits.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from dataclasses import dataclass, field
from typing import Any

from oktaql.errors import TemplateError

MAX_SIZE = 100_000  # longest string or list one `*` may build; widest width or count a filter takes
MAX_TEXT = 10_000_000  # characters one render may build in all (output, captures, values)
MAX_STEPS = 1_000_000  # loop iterations in one render
MAX_DEPTH = 50  # calls nested in each other (a macro calling itself, caller(), loop())
DEADLINE = 2.0  # seconds one render may take
MAX_BITS = 4096  # largest integer an operator may build
MAX_VALUES = 100_000  # {{ }} values one statement may place (each is checked after rendering)


@dataclass
class Budget:
    deadline: float = field(default_factory=lambda: time.monotonic() + DEADLINE)
    steps: int = 0
    depth: int = 0
    built: int = 0


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "oktaql_template_budget", default=None
)


def start() -> contextvars.Token[Budget | None]:
    return _BUDGET.set(Budget())


def stop(token: contextvars.Token[Budget | None]) -> None:
    _BUDGET.reset(token)


def _refuse(what: str) -> TemplateError:
    return TemplateError(f"template refused: {what}")


def tick() -> Budget | None:
    """The render's budget, after checking its deadline (None outside a render: compiling)."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise _refuse(
            f"rendering took over {DEADLINE:g} s (a loop or macro that runs away?): "
            "render less, or split it into several statements"
        )
    return budget


def spend(chars: int) -> None:
    """Count ``chars`` characters built (output, a capture, a value); refuse past MAX_TEXT."""
    budget = tick()
    if budget is None:
        return
    budget.built += chars
    if budget.built > MAX_TEXT:
        raise _refuse(
            f"it builds over {MAX_TEXT:,} characters (a loop that runs away?): "
            "render less, or split it into several statements"
        )


def enter() -> Budget | None:
    budget = tick()
    if budget is not None:
        budget.depth += 1
        if budget.depth > MAX_DEPTH:
            budget.depth -= 1
            raise _refuse(
                f"calls nested over {MAX_DEPTH} deep (a macro that calls itself without end?): "
                "stop the recursion sooner"
            )
    return budget


def nested_too_deeply() -> TemplateError:
    return _refuse(
        "nested too deeply (a macro that calls itself, or brackets inside brackets): nest less"
    )


class Counted:
    """A loop's iterable, each step counted against the budget; its length (``loop.length``)
    is the iterable's own."""

    __slots__ = ("_items", "_weight")

    def __init__(self, items: Any, weight: int):
        self._items = items
        self._weight = weight  # the characters of text the loop's body writes each time

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        budget = _BUDGET.get()
        if budget is None:
            yield from self._items
            return
        weight = self._weight
        for item in self._items:
            budget.steps += 1
            if budget.steps > MAX_STEPS:
                raise _refuse(
                    f"its loops ran over {MAX_STEPS:,} times: loop over less, "
                    "or split it into several statements"
                )
            if weight:
                spend(weight)
            elif time.monotonic() > budget.deadline:
                tick()
            yield item


# --- sizes ----------------------------------------------------------------------------------


def printed_size(value: Any, limit: int = MAX_TEXT) -> int:
    """About how long ``str(value)`` is, counting a list held twice twice (but measuring it
    once); stops soon after passing ``limit``."""
    if isinstance(value, str):
        return len(value)
    seen: dict[int, int] = {}

    def size(v: Any) -> int:
        if isinstance(v, str | bytes | bytearray):
            return len(v) + 3
        if isinstance(v, KeysView | ValuesView | ItemsView):
            v = list(v)  # printed as the list it views
        if isinstance(v, int):
            return v.bit_length() // 3 + 1
        if not isinstance(v, list | tuple | set | frozenset | dict):
            return 8
        known = seen.get(id(v))
        if known is not None:
            return known
        total = 2 + 2 * len(v)
        for item in (*v.keys(), *v.values()) if isinstance(v, dict) else v:
            if total > limit:
                break
            total += size(item)
        seen[id(v)] = total
        return total

    return size(value)


def check_values(placed: int) -> None:
    if placed >= MAX_VALUES:
        raise _refuse(
            f"it places over {MAX_VALUES:,} values: loop over less, "
            "or split it into several statements"
        )


def check_printable(value: Any, what: str = "a value") -> None:
    if printed_size(value) > MAX_TEXT:
        raise _refuse(
            f"{what} would be over {MAX_TEXT:,} characters long: pass or build a smaller one"
        )


def check_built(value: Any, what: str) -> None:
    """A value a filter, method or operator built: no text or list past MAX_TEXT."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_TEXT:
        raise _refuse(f"{what} built a value over {MAX_TEXT:,} long: build smaller values")


def check_width(what: str, n: Any) -> None:
    if isinstance(n, int) and n > MAX_SIZE:
        raise _refuse(f"{what} {n} is over {MAX_SIZE:,}: use a smaller one")


def check_estimate(what: str, size: int) -> None:
    if size > MAX_TEXT:
        raise _refuse(f"{what} would be over {MAX_TEXT:,} characters long: build smaller values")


_SEQUENCES = (str, bytes, bytearray, list, tuple)


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse the one-liners that would take all memory: ``'a' * 10**12``, ``9 ** 10**9``."""
    tick()
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(n, int):
                if len(seq) * n > MAX_SIZE or (
                    not isinstance(seq, str | bytes | bytearray)
                    and n > 1
                    and printed_size(seq, MAX_TEXT // n) * n > MAX_TEXT
                ):
                    raise _refuse(f"a value over {MAX_SIZE} long")
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_BITS:
                raise _refuse(f"a number over {MAX_BITS} bits")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if abs(left) > 1 and right * abs(left).bit_length() > MAX_BITS:
            raise _refuse(f"a number over {MAX_BITS} bits")
    elif operator == "+" and isinstance(left, _SEQUENCES):
        if isinstance(right, _SEQUENCES):
            check_estimate("'+'", len(left) + len(right))
    elif operator == "%" and isinstance(left, str | bytes | bytearray):
        check_printf(left if isinstance(left, str) else left.decode("latin-1"), right)


_PRINTF = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)


def check_printf(text: str, args: Any) -> None:
    """``'%10d' % x`` and the ``format`` filter: no width or precision over MAX_SIZE."""
    values = list(args) if isinstance(args, tuple) else [args]
    size = len(text)
    for m in _PRINTF.finditer(text):
        if m.group(4) == "%":
            continue
        for part in (m.group(2), m.group(3)):
            if part == "*":
                n = values.pop(0) if values else 0
            elif part:
                n = int(part)
            else:
                continue
            check_width("a format width", n)
            size += n if isinstance(n, int) else 0
        if values and not m.group(1):
            size += printed_size(values.pop(0))
    if isinstance(args, dict):
        size += printed_size(args)
    check_estimate("a formatted text", size)


_SPEC = re.compile(r"\d+")


def check_format_field(value: Any, spec: str) -> None:
    """A ``str.format`` field (``{:>100}``): no width or precision over MAX_SIZE, and what the
    fields write counted as they are written (a field repeated 10,000 times adds up)."""
    widest = 0
    for m in _SPEC.finditer(spec):
        check_width("a format width", int(m.group()))
        widest = max(widest, int(m.group()))
    spend(max(widest, printed_size(value)))


# --- filters and methods with a size in their arguments -------------------------------------


def _lines(value: Any) -> int:
    return str(value).count("\n") + 1


def _indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    w = len(width) if isinstance(width, str) else width
    check_width("indent() width", w)
    if isinstance(w, int):
        check_estimate("indent()", printed_size(s) + _lines(s) * w)


def _wordwrap(s: Any, width: int = 79, *args: Any, **kwargs: Any) -> None:
    wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None) or "\n"
    n = printed_size(s)
    check_estimate("wordwrap()", n + (n // max(int(width), 1) + 1) * len(str(wrap)))


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    text, old, new = str(s), str(old), str(new)
    times = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    check_estimate("replace()", len(text) + times * max(len(new) - len(old), 0))


def _join(value: Any, d: Any = "", *_: Any, **__: Any) -> Any:
    items = value if isinstance(value, str | list | tuple) else list(value)
    check_estimate("join()", printed_size(items) + len(items) * len(str(d)))
    return items  # what is joined: a generator is read once, here


def _count(what: str) -> Any:
    def check(_value: Any, n: Any = 0, *_: Any, **__: Any) -> None:
        check_width(what, n)

    return check


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(str(value), kwargs or args)


def _tojson(value: Any, indent: Any = None) -> None:
    check_printable(value)
    if isinstance(indent, str):
        indent = len(indent)
    if isinstance(indent, int):
        check_width("tojson() indent", indent)
        check_estimate("tojson()", printed_size(value) * (indent + 1))


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if isinstance(start, int | float):
        return None
    items = list(iterable)  # lists or strings added one by one: each addition copies the sum
    total = sum(len(x) for x in items if isinstance(x, str | list | tuple))
    check_estimate("sum()", len(items) * total // 2)
    return items


def _printable(value: Any, *_: Any, **__: Any) -> None:
    check_printable(value)


def _urlize(value: Any, *args: Any, **kwargs: Any) -> None:
    """Each link gets the target, rel and the rest written into it."""
    text = str(value)
    extra = sum(printed_size(a) for a in (*args, *kwargs.values()))
    check_estimate("urlize()", len(text) * 4 + (text.count(" ") + 1) * (extra + 64))


# filter name -> a check of its arguments (without the context Jinja passes some); what a check
# returns, if not None, is passed on in place of the filter's first argument
FILTER_CHECKS: dict[str, Any] = {
    "center": _count("center() width"),
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "join": _join,
    "batch": _count("batch() size"),
    "slice": _count("slice() count"),
    "truncate": _printable,
    "format": _format,
    "tojson": _tojson,
    "urlize": _urlize,
    "sum": _sum,
    **dict.fromkeys(
        [
            "string", "pprint", "urlencode", "escape", "e", "forceescape", "xmlattr", "upper",
            "lower", "title", "capitalize", "trim", "striptags", "safe",
        ],
        _printable,
    ),
}  # fmt: skip


def check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``'x'.center(10**9)`` and its kin, called on a string from a template."""
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, int) and getattr(obj, "__name__", "") == "to_bytes":
        check_width("to_bytes() length", args[0] if args else kwargs.get("length", 1))
        return
    if isinstance(owner, bytes | bytearray):
        owner = owner.decode("latin-1")  # the same methods, one character a byte
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    if name in ("center", "ljust", "rjust", "zfill") and args:
        check_width(f"{name}() width", args[0])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        check_width("expandtabs() size", size)
        if isinstance(size, int):
            check_estimate("expandtabs()", len(owner) + owner.count("\t") * size)
    elif name == "replace" and len(args) >= 2:
        _replace(owner, *args[:3])
    elif name == "join" and args and isinstance(args[0], list | tuple):
        check_estimate("join()", printed_size(args[0]) + len(args[0]) * len(owner))
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((printed_size(v) for v in args[0].values()), default=1)
        check_estimate("translate()", len(owner) * max(longest, 1))


__all__ = [
    "DEADLINE",
    "MAX_DEPTH",
    "MAX_SIZE",
    "MAX_STEPS",
    "MAX_TEXT",
    "MAX_VALUES",
    "Budget",
    "Counted",
    "check_binop",
    "check_built",
    "check_format_field",
    "check_method",
    "check_printable",
    "check_values",
    "enter",
    "nested_too_deeply",
    "spend",
    "start",
    "stop",
    "tick",
]
