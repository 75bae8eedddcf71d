"""{{ var }} rendering: every placeholder escaped for the SQL context it stands in."""

from __future__ import annotations

import json

import pytest

import oktaql
from oktaql.parser import parse
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
