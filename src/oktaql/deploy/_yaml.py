"""YAML that remembers lines: a manifest's mappings and lists, each knowing the line of every
key and item, so that an error names ``file:line: key``. Loaded with a ``SafeLoader``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oktaql.deploy._model import Where
from oktaql.errors import ConfigError, DeployError
from oktaql.provider._bounds import check_bounds


class Map(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[Any, int]
    text_lines: dict[Any, int]  # where a text value's first line is (a `|` block: the next)


class Seq(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


def load_yaml(text: str, file: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any) -> Map:
        loader.flatten_mapping(node)
        out = Map()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        out.text_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool):
                raise DeployError("a key must be a plain word", Where(file, line))
            if key in out:
                raise DeployError(
                    f"key {key!r} is given twice (first on line {out.key_lines[key]})",
                    Where(file, line, str(key)),
                )
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_lines[key] = line
            block = getattr(value_node, "style", None) in ("|", ">")
            out.text_lines[key] = value_node.start_mark.line + 1 + (1 if block else 0)
        return out

    def sequence(loader: Any, node: Any) -> Seq:
        out = Seq(loader.construct_object(n, deep=True) for n in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [n.start_mark.line + 1 for n in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    try:
        doc = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        if "'\\t'" in what and mark is not None:  # PyYAML's words for it don't say the fix
            what = f"a tab at column {mark.column + 1}: YAML indents with spaces, never tabs"
        raise DeployError(f"not valid YAML: {what}", Where(file, line)) from None
    except yaml.YAMLError as exc:
        raise DeployError(f"not valid YAML: {exc}", Where(file)) from None
    # a stack comes from a pull request: aliases that expand to a billion values must fail
    # here, before templating or a plan walks them (the provider files' bound)
    try:
        check_bounds(doc, file, label="stack file")
    except ConfigError as exc:
        raise DeployError(str(exc)) from None
    return doc


def line_of(node: Any, key: Any = None) -> int | None:
    if key is not None and isinstance(node, Map):
        return node.key_lines.get(key, node.line)
    return getattr(node, "line", None) or None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' (did you mean x?)', else the list of what is known."""
    from oktaql.catalog import suggest

    known = list(known)
    return suggest(word, known) or f" (known: {', '.join(known)})"


__all__ = ["Map", "Seq", "did_you_mean", "line_of", "load_yaml"]
