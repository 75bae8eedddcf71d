"""A template's budget: whatever a hostile template does, it renders or fails fast with one
TemplateError naming what it exceeded, never hanging and never filling memory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_deploy_stack import GROUP_IQL, write

import oktaql
from oktaql import _template_limits as limits
from oktaql.cli import main
from oktaql.templates import PARAMETERS, render

BIG = "x" * 100_000  # a variable as long as `*` may build one

STEPS = (
    "template refused: its loops ran over 1,000,000 times: loop over less, "
    "or split it into several statements"
)
DEPTH = (
    "template refused: calls nested over 50 deep (a macro that calls itself without end?): "
    "stop the recursion sooner"
)
TIME = (
    "template refused: rendering took over 2 s (a loop or macro that runs away?): "
    "render less, or split it into several statements"
)
BUILT = (
    "template refused: it builds over 10,000,000 characters (a loop that runs away?): "
    "render less, or split it into several statements"
)


def _width(what: str, n: int = 10**9) -> str:
    return f"template refused: {what} {n} is over 100,000: use a smaller one"


def _over(what: str) -> str:
    return (
        f"template refused: {what} would be over 10,000,000 characters long: build smaller values"
    )


def _too_long(name: str) -> str:
    return (
        f"template refused: {name} would be over 10,000,000 characters long: "
        "pass or build a smaller one"
    )


# "fails fast" means no hang: the budget stops a render at its deadline or sooner, and a loaded
# CI machine may take seconds more to raise; a bound this loose never flakes and still fails
# on a template that runs on
NO_HANG = limits.DEADLINE + 10.0

ATTACKS = [
    ("{% for i in big %}{% for j in big %}{% endfor %}{% endfor %}SELECT 1", STEPS),
    ("{% for i in big %}{% for j in big|list %}{% endfor %}{% endfor %}SELECT 1", STEPS),
    ("SELECT '{{ 'x' * 10**10 }}'", "template refused: a value over 100000 long"),
    ("{% set a = [1] * 10**7 %}SELECT 1", "template refused: a value over 100000 long"),
    ("{% set a = [[1] * 10**5] * 10**5 %}SELECT 1", "template refused: a value over 100000 long"),
    ("SELECT {{ (2**100000000) }}", "template refused: a number over 4096 bits"),
    ("{% macro f(n) %}{{ f(n * n) }}{% endmacro %}SELECT {{ f(3) }}", "template refused: a number over 4096 bits"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}SELECT '{{ f(1) }}'", DEPTH),
    ("SELECT {% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", DEPTH),
    # two calls a level: 2**40 calls, never deeper than 41
    (
        "{% macro f(n) %}{% if n < 40 %}{% set a = f(n + 1) %}{% set b = f(n + 1) %}{% endif %}"
        "{% endmacro %}{% set x = f(0) %}SELECT 1",
        TIME,
    ),
    # each call doubles its text: memory, not depth, runs out first
    ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}SELECT '{{ f('x') }}'", BUILT),
    ("{% set x %}{% for i in big %}{% for j in big %}1234567890123456789012345678901234567890{% endfor %}{% endfor %}{% endset %}SELECT 1", BUILT),
    ("SELECT '{% for i in big %}{% filter center(99999) %}x{% endfilter %}{% endfor %}'", BUILT),
    ("SELECT '{% for i in big %}{{ big }}{% endfor %}'", BUILT),
    ("{% set a = [big, big] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}{% set d = [c, c, c, c, c, c, c, c, c, c] %}SELECT '{{ d }}'", _too_long("template variable d")),
    ("{% set a = [big] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}{% set d = [c, c, c, c, c, c, c, c, c, c] %}SELECT '{{ d ~ d }}'", _over("'~'")),
    ("SELECT '{{ 'x' | center(10**9) }}'", _width("center() width")),
    ("SELECT '{{ 'x'.center(10**9) }}'", _width("center() width")),
    ("SELECT '{{ 'x'.ljust(10**9) }}'", _width("ljust() width")),
    ("SELECT '{{ 'x'.zfill(10**9) }}'", _width("zfill() width")),
    ("SELECT '{{ ['x'] | map('center', 10**9) | list }}'", _width("center() width")),
    ("SELECT '{{ 'x' | indent(10**9) }}'", _width("indent() width")),
    ("SELECT '{{ ('\n' * 100000) | indent(100000) }}'", _over("indent()")),
    ("SELECT '{{ big | wordwrap(1, wrapstring=big) }}'", _over("wordwrap()")),
    ("SELECT '{{ [1] | batch(10**9, 0) | list }}'", _width("batch() size")),
    ("SELECT '{{ [1] | slice(10**9) | list }}'", _width("slice() count")),
    ("SELECT '{{ '%1000000000d' | format(1) }}'", _width("a format width")),
    ("SELECT '{{ '%*d' | format(10**9, 1) }}'", _width("a format width")),
    ("SELECT '{{ '%.1000000000f' % 1.5 }}'", _width("a format width")),
    ("SELECT '{{ '{:>1000000000}'.format(1) }}'", _width("a format width")),
    ("SELECT '{{ spec.format(1, w=10**9) }}'", _width("a format width")),
    ("SELECT '{{ named.format_map({'x': 1, 'w': 10**9}) }}'", _width("a format width")),
    ("SELECT '{{ ('{0:99999}' * 10000).format(1) }}'", BUILT),
    ("SELECT '{{ 'x'.encode() * 10**9 }}'", "template refused: a value over 100000 long"),
    ("SELECT '{{ 'x'.encode().center(10**9) }}'", _width("center() width")),
    ("SELECT '{{ '%1000000000d'.encode() % 1 }}'", _width("a format width")),
    ("SELECT '{{ big.translate({120: big}) }}'", _over("translate()")),
    ("SELECT '{{ (2).to_bytes(10**9, 'big') }}'", _width("to_bytes() length")),
    ("SELECT '{{ ('a.b ' * 25000) | urlize(target=big) }}'", _over("urlize()")),
    ("SELECT '{{ (['x'] * 1000) | tojson(indent=big) }}'", _over("tojson()")),
    ("{% set a = {1: [big] * 50} %}{% set b = {1: a, 2: a, 3: a} %}SELECT '{{ b.items() }}'", _too_long("{{ b.items() }}")),
    ("SELECT {{ {'a': 1}[big] }}", "template error: 'dict object' has no attribute '" + "x" * 268 + "..."),
    ("SELECT '{{ big | replace('x', big) }}'", _over("replace()")),
    ("SELECT '{{ big.replace('x', big) }}'", _over("replace()")),
    ("SELECT '{{ big | join(big) }}'", _over("join()")),
    ("SELECT '{{ big | map('upper') | join(big) }}'", _over("join()")),
    ("SELECT '{{ big.join(big|list) }}'", _over("join()")),
    ("SELECT '{{ ('\t' * 100000).expandtabs(100000) }}'", _over("expandtabs()")),
    ("SELECT '{{ (['x'] * 1000) | tojson(indent=100001) }}'", _width("tojson() indent", 100001)),
    ("SELECT '{{ (['x'] * 100000) | tojson(indent=1000) }}'", _over("tojson()")),
    ("SELECT '{{ big | batch(1) | sum(start=[]) | length }}'", _over("sum()")),
    ("SELECT {{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "template refused: nested too deeply (a macro that calls itself, or brackets inside brackets): nest less"),
]  # fmt: skip


def _refused(sql: str, message: str, **extra: Any) -> None:
    started = time.monotonic()
    with pytest.raises(oktaql.TemplateError) as info:
        render(sql, {"big": BIG, "spec": "{:>{w}}", "named": "{x:>{w}}", **extra})
    took = time.monotonic() - started
    assert str(info.value) == message
    assert took < NO_HANG, f"took {took:.1f} s"


@pytest.mark.parametrize(("sql", "message"), ATTACKS)
def test_each_attack_fails_fast_naming_the_limit(sql: str, message: str) -> None:
    _refused(sql, message)


def test_a_slow_loop_meets_the_deadline() -> None:
    # each step is small, but sorting 100000 items 100000 times takes minutes
    _refused("{% set l = big|list %}{% for i in l %}{% set x = l|sort %}{% endfor %}SELECT 1", TIME)


def test_through_a_cursor_nothing_is_sent() -> None:
    conn = oktaql.connect(org_url="https://acme.okta.com")
    sql = (
        "EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = "
        "'{% for i in big %}{% for j in big %}{% endfor %}{% endfor %}{{ big }}'"
    )
    started = time.monotonic()
    with pytest.raises(oktaql.TemplateError) as info:
        conn.cursor().execute(sql, {"big": BIG})
    assert str(info.value) == STEPS
    assert time.monotonic() - started < NO_HANG
    with pytest.raises(oktaql.TemplateError) as info:
        conn.cursor().execute(
            "EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = '{{ 'x' | center(10**9) }}'"
        )
    assert str(info.value) == _width("center() width")


def test_many_values_are_checked_in_one_pass_and_too_many_refused() -> None:
    # the check after rendering was quadratic in the values (5,000 took seconds): now linear
    ids = list(range(30_000))
    out = render("SELECT {% for i in ids %}{{ i }}, {% endfor %}0", {"ids": ids})
    assert out == "SELECT " + "".join(f"{i}, " for i in ids) + "0"
    _refused(
        "SELECT {% for i in big %}{% for j in 'xy' %}{{ j }}, {% endfor %}{% endfor %}0",
        "template refused: it places over 100,000 values: loop over less, "
        "or split it into several statements",
    )


def test_off_the_main_thread_the_deadline_holds() -> None:
    # serve and mcp render on worker threads, where no signal could reach
    from concurrent.futures import ThreadPoolExecutor

    slow = "{% set l = big|list %}{% for i in l %}{% set x = l|sort %}{% endfor %}SELECT 1"
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        runs = [pool.submit(render, slow, {"big": BIG}) for _ in range(2)]
        errors = [str(r.exception()) for r in runs]
    assert errors == [TIME, TIME]
    assert time.monotonic() - started < NO_HANG


def test_the_budget_is_each_render_s_own() -> None:
    # 600,000 steps each: two renders in a row are both within the 1,000,000
    sql = "{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}SELECT 1"
    for _ in range(2):
        assert render(sql, {"s": "x" * 774}) == "SELECT 1"
    with pytest.raises(oktaql.TemplateError):
        render(sql, {"s": "x" * 1001})


def test_what_normal_templates_do_still_renders() -> None:
    sql = (
        "SELECT {% for a in apps %}'{{ a | upper }}'{% if not loop.last %},{% endif %}"
        "{% endfor %}, {% for a in apps|map('lower') %}{{ loop.length }}{% endfor %}, "
        "'{{ '%5d' | format(7) }}', '{{ '{:>4}'.format(1) }}', '{{ apps | join('|') }}', "
        "'{{ 'ab' | center(6) }}', '{{ 'a' ~ 'b' ~ n }}', {{ n * 3 + 1 }}, '{{ '%s-%s' % (n, n) }}'"
        "{% for k, v in d | dictsort %}, '{{ k }}={{ v }}'{% else %}, 'none'{% endfor %}"
    )
    values = {"apps": ["x", "Y"], "n": 2, "d": {"b": 2, "a": 1}}
    assert render(sql, values) == (
        "SELECT 'X','Y', 2 2, '    7', '   1', 'x|Y', '  ab  ', 'ab2', 7, '2-2', 'a=1', 'b=2'"
    )
    # a large parameter is still bound; one past the limit is refused naming it
    cur = oktaql.connect().cursor()
    cur.execute("SELECT length(?)", ["x" * 1_000_000])
    assert cur.fetchall() == [(1_000_000,)]
    with pytest.raises(oktaql.TemplateError) as info:
        render("SELECT length(?)", {PARAMETERS: ["x" * 10_000_001]})
    assert str(info.value) == _too_long("parameter ?1")


_LEAF = st.sampled_from(["big", "s", "'ab'", "[1, 2, 3]", "n", "(n * 1000)", "99999"])
_OPS = st.sampled_from(["*", "+", "~", "**", "%"])
_FILTERS = st.sampled_from(
    ["upper", "list", "join(s)", "center(n * 1000)", "indent(n)", "batch(n)", "sum",
     "replace('a', s)", "wordwrap(n)", "format(n)", "length", "string", "tojson"]
)  # fmt: skip


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(_LEAF)
    kind = draw(st.sampled_from(["op", "filter"]))
    left = draw(_expressions(depth - 1))
    if kind == "op":
        return f"({left} {draw(_OPS)} {draw(_expressions(depth - 1))})"
    return f"({left} | {draw(_FILTERS)})"


@st.composite
def _templates(draw: st.DrawFn) -> str:
    body = f"{{% set v = {draw(_expressions())} %}}"
    for _ in range(draw(st.integers(0, 3))):
        var = draw(st.sampled_from(["i", "j", "k"]))
        body = f"{{% for {var} in {draw(_expressions(1))} %}}{body}{{% endfor %}}"
    if draw(st.booleans()):
        body = f"{{% macro m(x) %}}{body}{{{{ m(x) }}}}{{% endmacro %}}{{% set r = m(1) %}}"
    return body + "SELECT 1"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(sql=_templates(), n=st.integers(-3, 10**6))
def test_random_templates_render_or_refuse_within_the_deadline(sql: str, n: int) -> None:
    started = time.monotonic()
    try:
        assert render(sql, {"big": BIG, "s": "a b\n", "n": n}) == "SELECT 1"
    except oktaql.TemplateError:
        pass
    assert time.monotonic() - started < NO_HANG


# --------------------------------------------------------------------------- in a deploy stack


def _plan(root: Path, url: str) -> Any:
    return CliRunner().invoke(
        main, ["deploy", "plan", str(root), "dev", "-e", "PREFIX=acme", "--org-url", url]
    )


MANIFEST = """\
version: 1
name: demo
providers:
  - okta
globals:
  - name: big
    value: "{{ 'x' * 100000 }}"
resources:
  - name: eng
    file: group.iql
    props:
      - name: group_name
        value: "PROP"
"""


@pytest.mark.parametrize(
    ("prop", "message"),
    [
        ("{% for i in big %}{% for j in big %}{% endfor %}{% endfor %}eng", STEPS),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", DEPTH),
        ("{{ 'x' | center(10**9) }}", _width("center() width")),
        ("{{ big | replace('x', big) }}", _over("replace()")),
    ],
)
def test_deploy_plan_refuses_a_prop_that_runs_away(
    tmp_path: Path, fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, prop: str, message: str
) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    write(tmp_path, MANIFEST.replace("PROP", prop))
    fresh_emulator.reset_log()
    started = time.monotonic()
    res = _plan(tmp_path, fresh_emulator.url)
    assert time.monotonic() - started < NO_HANG
    assert res.exit_code == 1, res.output
    assert res.stderr == (
        f"error: {tmp_path}/stackql_manifest.yml:13: resources.eng.props.group_name: {message}\n"
    )
    assert fresh_emulator.request_log == []


def test_deploy_plan_refuses_an_iql_template_that_runs_away(
    tmp_path: Path, fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    loop = "{% for i in big %}{% for j in big %}{% endfor %}{% endfor %}"
    write(
        tmp_path,
        MANIFEST.replace("PROP", "eng"),
        {"group.iql": GROUP_IQL.replace("eq \"{{ group_name }}\"'", f"eq \"{loop}{{{{ group_name }}}}\"'", 1)},
    )  # fmt: skip
    fresh_emulator.reset_log()
    res = _plan(tmp_path, fresh_emulator.url)
    assert res.exit_code == 1, res.output
    assert STEPS in res.stderr and "Traceback" not in res.output
    assert fresh_emulator.request_log == []
