"""Key paths: how an error names a place in the stack file, and how code reaches that place."""

from __future__ import annotations

from typing import Any

import pytest

from openelb_component.config.errors import Loc, format_path, value_at, value_at_or_none

DOCUMENT: dict[str, Any] = {"topology": {"leaves": [{"name": "leaf1", "nodes": ["n1", "n2"]}]}}


@pytest.mark.parametrize(
    ("loc", "text", "value"),
    [
        ((), "", DOCUMENT),
        (("topology",), "topology", DOCUMENT["topology"]),
        (("topology", "leaves", 0, "name"), "topology.leaves[0].name", "leaf1"),
        (("topology", "leaves", 0, "nodes", 1), "topology.leaves[0].nodes[1]", "n2"),
    ],
    ids=["root", "top-level-key", "key-in-list-item", "list-item"],
)
def test_a_path_names_and_reaches_the_same_place(loc: Loc, text: str, value: Any) -> None:
    assert format_path(loc) == text
    assert value_at(DOCUMENT, loc) == value
    assert value_at_or_none(DOCUMENT, loc) == value


@pytest.mark.parametrize(
    ("loc", "error"),
    [
        (("openelb",), KeyError),
        (("topology", "leaves", 3), IndexError),
        (("topology", "leaves", 0, "name", "x"), TypeError),
    ],
    ids=["missing-key", "index-past-the-end", "through-a-scalar"],
)
def test_a_path_that_is_not_there(loc: Loc, error: type[Exception]) -> None:
    with pytest.raises(error):
        value_at(DOCUMENT, loc)
    assert value_at_or_none(DOCUMENT, loc) is None
