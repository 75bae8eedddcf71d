"""API responses decode to the same objects whichever JSON decoder runs (oktaql._json)."""

from __future__ import annotations

import json
import math

import pytest

from oktaql import _json


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"id":"oar1","scopes":["openid"],"_links":{"self":{"href":"https://x"}}}]',
        b'{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',
        '{"name": "Zoë \u2603", "esc": "\\u00e9\\n"}'.encode(),
        b'{"f": 1.5e300, "small": 5e-324, "t": true, "n": null}',
        b"[]",
        "[1, 2]",  # text as well as bytes
    ],
)
def test_same_objects_as_the_standard_library(raw: bytes | str) -> None:
    assert _json.loads(raw) == json.loads(raw)


def test_what_orjson_refuses_still_decodes() -> None:
    assert _json.loads(b"[NaN, Infinity]")[1] == math.inf
    assert math.isnan(_json.loads(b"[NaN]")[0])
    assert _json.loads(b"[-9223372036854775809]") == [-9223372036854775809]


def test_invalid_json_raises_the_standard_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        _json.loads(b'{"unterminated": ')
    with pytest.raises(UnicodeDecodeError):
        _json.loads(b'{"x": "\xff"}')  # not UTF-8: the caller falls back to the body as text


def test_ordinary_bodies_go_to_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    if _json.orjson is None:
        pytest.skip("orjson is not installed: every body goes to the standard library")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.loads called for an ordinary body")

    monkeypatch.setattr(_json.json, "loads", refuse)
    assert _json.loads(b'[{"id":"oar1","n":42,"ok":true}]') == [{"id": "oar1", "n": 42, "ok": True}]
    with pytest.raises(AssertionError, match="ordinary body"):
        _json.loads(b'{"id": "1234567890123456789"}')  # 19 digits in a row: the careful path
