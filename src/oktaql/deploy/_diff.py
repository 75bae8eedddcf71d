"""Desired vs live: only the fields the user wrote are compared.

A desired object is a subset of the live one: ``{"profile": {"description": "x"}}`` says
nothing about ``profile.name`` or ``lastUpdated``, so neither can differ. A list is compared
as the user wrote it (same length, same order), each element again as a subset.
"""

from __future__ import annotations

from typing import Any

from oktaql.deploy._model import FieldChange


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def get_path(obj: Any, dotted: str) -> Any:
    """``obj['profile']['name']`` for ``profile.name``; MISSING where the path stops."""
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


def same(desired: Any, live: Any) -> bool:
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            same(v, live.get(k, MISSING)) for k, v in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(same(d, v) for d, v in zip(desired, live))
        )
    if live is MISSING:
        return desired is None
    if isinstance(desired, bool) or isinstance(live, bool):
        return type(desired) is type(live) and desired == live
    return bool(desired == live)


def diff(desired: dict[str, Any], live: dict[str, Any], prefix: str = "") -> list[FieldChange]:
    """Each written field whose live value differs, as its dotted path, old → new. A secret
    the API never returns can't be compared, so it never differs (and a changed one isn't seen:
    rotate secrets with their own methods)."""
    from oktaql._secrets import is_secret_name

    out: list[FieldChange] = []
    for key, want in desired.items():
        path = f"{prefix}{key}"
        have = live.get(key, MISSING) if isinstance(live, dict) else MISSING
        if have is MISSING and (is_secret_name(key) or secret_path(path)):
            continue  # write-only (a client_secret is never read back): nothing to compare
        if isinstance(want, dict) and isinstance(have, dict):
            out.extend(diff(want, have, path + "."))
        elif not same(want, have):
            out.append(FieldChange(path, None if have is MISSING else have, want))
    return out


def _nested(dotted: str, value: Any) -> Any:
    for part in reversed(dotted.split(".")):
        value = {part: value}
    return value


def _mask_at(dotted: str, value: Any) -> Any:
    """``value`` masked as it would be at ``dotted`` in a body: judged by the whole path, so
    ``credentials.password.value`` is a secret though ``value`` alone is not."""
    from oktaql._secrets import mask_json

    return get_path(mask_json(_nested(dotted, value)), dotted)


def secret_path(dotted: str) -> bool:
    """Whether the field at ``dotted`` holds a secret (by its name or its parents')."""
    return _mask_at(dotted, "x") != "x"


def masked(change: FieldChange) -> FieldChange:
    """A plan never shows a secret: a field named like one (client_secret, password...), or
    anything under one (``credentials.password.value``), is masked on both sides."""
    return FieldChange(
        change.field, _mask_at(change.field, change.old), _mask_at(change.field, change.new)
    )


def overlay(live: Any, desired: Any) -> Any:
    """``live`` with the desired fields written over it (what a full replace must send:
    fields the user didn't write keep their live values). Lists are replaced whole."""
    if isinstance(desired, dict) and isinstance(live, dict):
        out = dict(live)
        for k, v in desired.items():
            out[k] = overlay(live.get(k), v)
        return out
    return desired


def without(obj: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in names}
