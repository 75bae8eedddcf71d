"""``.iql`` files: the queries of a resource, each after its anchor (``/*+ create */``,
``/*+ statecheck, retries=N, retry_delay=S */``...), as stackql-deploy splits them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oktaql.deploy._model import Anchor, Where
from oktaql.deploy._yaml import did_you_mean
from oktaql.errors import DeployError

ANCHORS = (
    "exists", "statecheck", "create", "update", "createorupdate", "exports", "delete", "command",
)  # fmt: skip
_ALIASES = {"preflight": "exists", "postdeploy": "statecheck"}  # stackql-deploy's old names
_OPTIONS: dict[str, type] = {
    "retries": int,
    "retry_delay": float,
    "postdelete_retries": int,
    "postdelete_retry_delay": float,
}


def parse_iql(text: str, file: str) -> dict[str, Anchor]:
    """The anchored queries of an ``.iql`` file. An anchor starts a line: ``/*+ name */`` or
    ``/*+ name, retries=N, retry_delay=S */``; its query runs to the next anchor."""
    found: dict[str, Anchor] = {}
    current: tuple[str, dict[str, Any], int] | None = None
    body: list[str] = []
    same_line = False

    def close() -> None:
        if current is None:
            return
        name, options, line = current
        text = "".join(body)
        sql = text.strip()
        if not sql:
            raise DeployError("the anchor has no query after it", Where(file, line, name))
        first = line + (0 if same_line else 1) + text[: text.index(sql[0])].count("\n")
        found[name] = Anchor(name, sql, Where(file, line, name), first_line=first, **options)

    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if line.startswith("/*+") and "*/" in line:
            close()
            inner = line[3 : line.index("*/")]
            parts = [p.strip() for p in inner.split(",")]
            name = _ALIASES.get(parts[0], parts[0])
            if name not in ANCHORS:
                raise DeployError(
                    f"unknown anchor /*+ {parts[0]} */{did_you_mean(parts[0], ANCHORS)}",
                    Where(file, n, parts[0]),
                )
            if name in found or (current is not None and current[0] == name):
                raise DeployError(f"anchor {name} is given twice", Where(file, n, name))
            options: dict[str, Any] = {}
            for part in parts[1:]:
                key, sep, value = (s.strip() for s in part.partition("="))
                if key not in _OPTIONS or not sep:
                    raise DeployError(
                        f"unknown anchor option {part!r}: write "
                        + ", ".join(f"{o}=N" for o in _OPTIONS),
                        Where(file, n, name),
                    )
                try:
                    number = _OPTIONS[key](value)
                except ValueError:
                    number = -1
                if number < 0:
                    raise DeployError(
                        f"{key}={value!r} is not a number of "
                        + ("seconds" if "delay" in key else "attempts"),
                        Where(file, n, name),
                    )
                options[key] = number
            current, body = (name, options, n), []
            after = line[line.index("*/") + 2 :]
            same_line = bool(after.strip())
            if same_line:
                body.append(after)
        elif current is None:
            if line.strip() and not line.strip().startswith("--"):
                raise DeployError(
                    "a query before the first anchor: start it with /*+ create */ or another "
                    "anchor (" + ", ".join(ANCHORS) + ")",
                    Where(file, n),
                )
        else:
            body.append(line)
    close()
    return found


def inline_command(sql: str, first: int, at: Where) -> Anchor:
    """A command resource's ``sql:``: the whole text is the command, as stackql-deploy runs it;
    an anchor line before it (its docs write ``/*+ update */``) is allowed and dropped, and its
    ``retries=`` / ``retry_delay=`` kept. A second anchor would run as part of the command:
    refused, since that is never what its author meant."""
    anchors = [
        n
        for n, line in enumerate(sql.splitlines(), first)
        if line.startswith("/*+") and "*/" in line
    ]
    if len(anchors) > 1:
        raise DeployError(
            "sql: of a command resource is one command (its statements run in order, on "
            f"build); the anchor on line {anchors[1]} would run as part of it: remove it, or "
            "move the queries to resources/*.iql",
            Where(at.file, anchors[1], at.key),
        )
    if anchors:
        (parsed,) = parse_iql("\n" * (first - 1) + sql, at.file).values()
        return replace(parsed, name="command", where=Where(at.file, anchors[0], at.key))
    body = sql.strip()
    if not body:
        raise DeployError("sql: is empty: write the command to run", at)
    start = first + sql[: sql.index(body[0])].count("\n")
    return Anchor("command", body, Where(at.file, start, at.key), first_line=start)


__all__ = ["ANCHORS", "inline_command", "parse_iql"]
