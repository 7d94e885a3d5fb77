"""Reading mission YAML: the safe loader, made strict.

PyYAML's ``safe_load`` builds only plain data (no ``!!python`` tags), but it
silently keeps the last of two equal keys in a mapping, and its composer
recurses once per nesting level, so a file nested a few thousand levels deep
ends in a ``RecursionError`` instead of an answer. It also follows YAML 1.1,
where a number with an exponent but no decimal point or no exponent sign
(``1e-3``, ``1.5e6``) is a string; the mission schema takes no string for a
number (docs, "Numbers"), so :class:`StrictSafeLoader` reads such a plain
scalar as the float YAML 1.2 (sec. 10.3.2) makes it. It keeps the safe
loader's tags and adds three refusals, each a ``yaml.MarkedYAMLError`` that
carries the line and column:

- a key given twice in one mapping (YAML 1.2, sec. 3.2.1.1: keys are unique;
  merge keys ``<<`` may still be overridden, as YAML merge keys intend);
- nesting deeper than :data:`MAX_DEPTH` levels (a mission needs about 6);
- more than :data:`MAX_NODES` values once aliases are expanded (an alias
  "bomb" of nested anchors), or an alias to a collection that holds it (a cycle).

Mission files, and the vehicle, sensors and dispersions files they include,
are all read with :func:`load_yaml`.
"""

from __future__ import annotations

import re
from typing import IO, Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted. The deepest mission path
(``vehicle.guidance.upper_stage.target.inclination_deg``) is 5 levels deep."""

MAX_NODES = 5_000_000
"""Most values (scalars, lists, mappings, counting each alias as a copy) in one
file: ten times a 200 000-vertex inline area outline."""

_MERGE_TAG = "tag:yaml.org,2002:merge"

_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
"""A plain scalar such as ``1e-3``, ``-2E6`` or ``1.5e6``: a float in YAML 1.2's core schema, a string to
PyYAML's YAML 1.1 resolver, whose float needs both a decimal point and a signed exponent (``1.5e+6``)."""


class StrictSafeLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no stubs: SafeLoader is Any
    """``yaml.SafeLoader`` that refuses duplicate keys, deep nesting and alias bombs (module docstring)."""

    def __init__(self, stream: str | bytes | IO[str] | IO[bytes]) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._open_anchors: set[str] = set()
        self._anchor_nodes: dict[str, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise ComposerError(
                    None,
                    None,
                    f"alias *{event.anchor} refers to a list or mapping that contains it (a cycle)",
                    event.start_mark,
                )
            node = super().compose_node(parent, index)
            self._count(self._anchor_nodes.get(event.anchor, 1), event.start_mark)
            return node
        if self._depth >= MAX_DEPTH:
            raise ComposerError(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep; a mission file needs fewer than 10",
                event.start_mark,
            )
        anchor = event.anchor
        before = self._nodes
        self._depth += 1
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)
        self._count(1, event.start_mark)
        if anchor is not None:
            self._anchor_nodes[anchor] = self._nodes - before
        return node

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise ComposerError(
                None,
                None,
                f"holds more than {MAX_NODES:,} values once aliases are expanded; is an alias repeated inside aliases?",
                mark,
            )

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.get(key)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if seen is not None:
                    raise ConstructorError(
                        None,
                        None,
                        f"key {key!r} is given twice in this mapping (first at line {seen.line + 1}, column "
                        f"{seen.column + 1}); keep one",
                        key_node.start_mark,
                    )
                first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


StrictSafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def load_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`StrictSafeLoader`. Raises ``yaml.YAMLError``."""
    loader = StrictSafeLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # not expected below MAX_DEPTH; never let it escape as a traceback
        raise yaml.YAMLError(f"nested too deeply to read (more than {MAX_DEPTH} levels?)") from None
    finally:
        loader.dispose()


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``line L, column C: not valid YAML: PROBLEM`` (one line, 1-based position)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}not valid YAML: {problem}"
