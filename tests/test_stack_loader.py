"""The offline loader reads a stack file as the Pulumi CLI does: compared with the CLI's own
loader (``e2e/tools/stackconfig``: sdk v3.276.0's ``workspace.LoadProjectStack`` and
``config.Map.Decrypt``, built from the Go module proxy by ``make tools TOOLS=stackconfig``).

For every file, both give either the same text for every config key (what the program
receives) and the same secret keys, or both refuse the file. The one deliberate difference is
the alias budget: files the CLI reads at great cost are refused here (``ALIAS_BUDGET``).
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openelb_component.config.errors import ConfigError
from openelb_component.config.names import PROJECT
from openelb_component.lab import gotools
from openelb_component.plan import stackyaml
from openelb_component.plan.stackfile import StackFileError, engine_view, read_stack
from tests.support.tools import unavailable


@functools.cache
def _binary() -> Path | None:
    try:
        return gotools.binary("stackconfig", "stackconfig")
    except gotools.ToolUnavailable:
        return None


def pulumi_reads(data: bytes, folder: Path) -> dict[str, Any]:
    """What the CLI's loader makes of ``data``: {"config": ..., "secretKeys": ...} or
    {"error": ...}."""
    binary = _binary()
    if binary is None:
        unavailable("e2e/tools/stackconfig is not built: make tools TOOLS=stackconfig")
    assert binary is not None
    path = folder / "Pulumi.x.yaml"
    path.write_bytes(data)
    done = subprocess.run(
        [str(binary), PROJECT, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"TZ": "UTC"},
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def we_read(data: bytes) -> dict[str, Any]:
    try:
        config, secret = engine_view(data)
    except StackFileError as error:
        return {"error": str(error)}
    return {"config": config, **({"secretKeys": secret} if secret else {})}


def same(ours: Any, theirs: Any) -> bool:
    """Equal, with the same JSON types (2 is not 2.0)."""
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, dict):
        return ours.keys() == theirs.keys() and all(same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list):
        return len(ours) == len(theirs) and all(map(same, ours, theirs))
    return bool(ours == theirs)


def _as_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def assert_read_alike(data: bytes, folder: Path) -> dict[str, Any]:
    theirs = pulumi_reads(data, folder)
    ours = we_read(data)
    if "error" in theirs or "error" in ours:
        assert ("error" in theirs, "error" in ours) == (True, True), (ours, theirs)
        return ours
    assert ours.get("secretKeys", []) == theirs.get("secretKeys", [])
    their_config = theirs.get("config", {})  # an empty map is left out of the JSON
    assert ours["config"].keys() == their_config.keys(), (ours, theirs)
    for key, text in ours["config"].items():
        other = their_config[key]
        # Objects are JSON on both sides (key order and escapes may differ); scalars are text.
        assert text == other or same(_as_json(text), _as_json(other)), (key, text, other)
    return ours


def document(config: str) -> bytes:
    return f"config:\n{config}".encode()


CASES: dict[str, bytes] = {
    "booleans-yaml-1.2": document("  openelb-ha:a: [true, True, TRUE, yes, on, y, No, off]\n"),
    "base-60-is-text": document("  openelb-ha:a: [65:01, 1:30:00]\n"),
    "numbers": document(
        "  openelb-ha:a: [1e3, 1_000, 0x1F, 0o17, 017, 08, .5, 2.0, -0, +7, 1e400, 1.5e21]\n"
    ),
    "top-level-numbers": document(
        "  openelb-ha:a: 1e3\n  openelb-ha:b: 2.50\n  openelb-ha:c: 08\n"
    ),
    "big-integers": document("  openelb-ha:a: [9223372036854775808, 18446744073709551616]\n"),
    "date-leaf-name": document(
        "  openelb-ha:topology:\n    leaves:\n      - name: 2024-01-01\n"
        "      - name: 2024-1-2 3:04:05.250\n      - name: 2024-01-01T10:00:00Z\n"
    ),
    "top-level-date": document("  openelb-ha:a: 2024-01-01\n"),
    "quoted-date": document("  openelb-ha:a: [\"2024-01-01\", '2024-01-01']\n"),
    "binary": document("  openelb-ha:a: !!binary aGVsbG8=\n  openelb-ha:b: [!!binary /w==]\n"),
    "bad-binary": document("  openelb-ha:a: !!binary '***'\n"),
    "set-and-omap": document("  openelb-ha:a: !!set {x, y}\n  openelb-ha:b: !!omap [{x: 1}]\n"),
    "unknown-tag": document("  openelb-ha:a: !foo bar\n  openelb-ha:b: !!str 12\n"),
    "tag-mismatch": document("  openelb-ha:a: !!int abc\n"),
    "float-tag-on-int": document("  openelb-ha:a: [!!float 1]\n"),
    "nan": document("  openelb-ha:a: [.nan]\n"),
    "null-top-level": document("  openelb-ha:a:\n  openelb-ha:b: ~\n  openelb-ha:c: [~, null]\n"),
    "non-string-keys": document("  openelb-ha:a: {1: x, true: y, 1.5: z, ~: w}\n"),
    "merge-with-override": document(
        "  openelb-ha:base: &base {name: a, nodes: [n1]}\n"
        "  openelb-ha:leaf:\n    <<: *base\n    name: b\n"
    ),
    "merge-list-first-wins": document(
        "  openelb-ha:a: &a {x: 1}\n  openelb-ha:b: &b {x: 2, y: 2}\n"
        "  openelb-ha:c: {<<: [*a, *b], z: 3}\n"
    ),
    "merge-of-a-scalar": document("  openelb-ha:a: {<<: 1}\n"),
    "duplicate-key": document("  openelb-ha:a: {x: 1, x: 2}\n"),
    "duplicate-quoted-key": document('  openelb-ha:a: {x: 1, "x": 2}\n'),
    "duplicate-top-level-key": document("  openelb-ha:a: 1\n  openelb-ha:a: 2\n"),
    "unprefixed-key": document("  topology: {kind: single-router}\n"),
    "old-config-spelling": document("  openelb-ha:config:adopt: true\n"),
    "secure": document(
        "  openelb-ha:p: {secure: v1:abc}\n  openelb-ha:q: {l: {secure: v1:abc}}\n"
        "  openelb-ha:r: {secure: 123}\n"
    ),
    "quoted-json-text": document('  openelb-ha:a: "[1, 2]"\n'),
    "recursive-alias": document("  openelb-ha:a: &a [*a]\n"),
    "anchor-redefined": document("  openelb-ha:a: [&x 1, *x, &x 2, *x]\n"),
    "utf-8-bom": b"\xef\xbb\xbf" + document("  openelb-ha:a: x\n"),
    "utf-16-le": "\ufeffconfig:\n  openelb-ha:a: é\n".encode("utf-16-le"),
    "utf-16-be": "\ufeffconfig:\n  openelb-ha:a: é\n".encode("utf-16-be"),
    "latin-1": "config:\n  openelb-ha:a: é\n".encode("latin-1"),
    "utf-16-without-bom": "config:\n  openelb-ha:a: x\n".encode("utf-16-le"),
    "control-character": document("  openelb-ha:a: \x1b[2J\n"),
    "not-a-mapping": b"- config\n",
    "empty": b"",
    "second-document-ignored": document("  openelb-ha:a: 1\n---\n: : :\n"),
}


@pytest.mark.parametrize("data", list(CASES.values()), ids=list(CASES))
def test_the_loader_reads_a_file_as_the_pulumi_cli_does(data: bytes, tmp_path: Path) -> None:
    assert_read_alike(data, tmp_path)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            CASES["date-leaf-name"],
            [
                "2024-01-01 00:00:00 +0000 UTC",
                "2024-01-02 03:04:05.25 +0000 UTC",
                "2024-01-01 10:00:00 +0000 UTC",
            ],
        ),
        (CASES["merge-with-override"], {"name": "b", "nodes": ["n1"]}),
    ],
    ids=["dates", "merge"],
)
def test_what_the_program_receives(data: bytes, expected: Any) -> None:
    config = we_read(data)["config"]
    value = json.loads(
        config["openelb-ha:topology"] if "topology" in data.decode() else config["openelb-ha:leaf"]
    )
    found = [leaf["name"] for leaf in value["leaves"]] if isinstance(expected, list) else value
    assert found == expected


# --- generated documents -----------------------------------------------------------------------

SCALARS = st.sampled_from(
    [
        "1",
        "-1",
        "+1",
        "01",
        "09",
        "0x1f",
        "0o17",
        "0b101",
        "1_0",
        "1e3",
        "1E-2",
        ".5",
        "-.5",
        "1.",
        "2.0",
        ".inf",
        "-.Inf",
        "true",
        "False",
        "yes",
        "off",
        "null",
        "~",
        "",
        "65:01",
        "2024-01-01",
        "2024-1-1",
        "2024-13-01",
        "2024-01-01 10:00:00",
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00+02:00",
        "abc",
        "'q'",
        '"2"',
        "!!str 1",
        "!!int 0x10",
        "!!float 3",
        "!!binary aGk=",
        "!x y",
        "1e400",
        "9223372036854775808",
    ]
)


@st.composite
def yaml_values(draw: st.DrawFn, depth: int = 0) -> str:
    """Flow-style YAML text: scalars, lists and mappings (keys plain or quoted, sometimes the
    same twice, sometimes a merge)."""
    kind = draw(st.sampled_from(["scalar"] * 3 + (["list", "map"] if depth < 2 else [])))
    if kind == "scalar":
        return draw(SCALARS)
    if kind == "list":
        items = draw(st.lists(yaml_values(depth + 1), max_size=4))
        return "[" + ", ".join(items) + "]"
    keys = draw(st.lists(st.sampled_from(["a", "b", '"a"', "1", "true", "<<"]), max_size=3))
    values = [draw(yaml_values(depth + 1)) for _ in keys]
    return "{" + ", ".join(f"{k}: {v}" for k, v in zip(keys, values, strict=True)) + "}"


@settings(max_examples=40, deadline=None)
@given(values=st.lists(yaml_values(), min_size=1, max_size=3))
def test_generated_files_are_read_as_the_pulumi_cli_reads_them(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    lines = "".join(f"  openelb-ha:k{index}: {value}\n" for index, value in enumerate(values))
    assert_read_alike(document(lines), tmp_path_factory.mktemp("generated"))


# --- bounded work ------------------------------------------------------------------------------

BOMB = document(
    "  kubernetes:a: &a [x, x, x, x, x, x, x, x, x]\n"
    "  kubernetes:b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "  kubernetes:c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "  kubernetes:d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "  kubernetes:e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "  kubernetes:f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "  kubernetes:g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "  kubernetes:h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
)


def test_an_alias_bomb_is_refused_within_the_budget(tmp_path: Path) -> None:
    """9^8 = 43 million values from a 600-byte file (under a key of another namespace, which
    every command still reads). The CLI refuses it too, after 400,000 decodes."""
    assert len(BOMB) < 700
    with pytest.raises(StackFileError, match=r"aliases reach more than 10000 values"):
        stackyaml.load(BOMB)
    assert "error" in pulumi_reads(BOMB, tmp_path)


def test_a_small_alias_budget_is_the_only_difference(tmp_path: Path) -> None:
    """A document the CLI reads (about 21,000 values through aliases, beside 300 written out:
    below its 99% ratio) is refused here: the budget is deliberately smaller."""
    data = document(
        "  kubernetes:x: [" + ", ".join(["x"] * 300) + "]\n"
        "  kubernetes:a: &a [" + ", ".join(["x"] * 20) + "]\n"
        "  kubernetes:b: &b [" + ", ".join(["*a"] * 50) + "]\n"
        "  kubernetes:c: [" + ", ".join(["*b"] * 20) + "]\n"
    )
    assert "config" in pulumi_reads(data, tmp_path)
    with pytest.raises(StackFileError, match="aliases reach more than"):
        stackyaml.load(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (CASES["latin-1"], "line 2: not UTF-8 (byte 0xe9 at offset 24)"),
        (CASES["recursive-alias"], "an anchor's value contains itself"),
        (CASES["nan"], "is no number JSON can carry"),
        (CASES["tag-mismatch"], "cannot decode !!str `abc` as a !!int"),
        (b"config: [" * 5000, "nested deeper than this reader follows"),
    ],
    ids=["latin-1", "recursive-alias", "nan", "tag-mismatch", "deep-nesting"],
)
def test_every_unreadable_file_is_one_clear_error_naming_the_fix(
    data: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openelb_component.cli import main

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.bad.yaml").write_bytes(data)
    status = main(["validate", str(stacks / "Pulumi.bad.yaml")])
    err = capsys.readouterr().err
    assert status == 1
    assert message in err
    assert "Traceback" not in err


def test_a_stack_with_merge_keys_and_an_override_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.merge.yaml"
    path.write_text(
        "config:\n"
        "  openelb-ha:topology:\n"
        "    kind: multi-leaf\n"
        "    replicasPerLeaf: 1\n"
        "    leaves:\n"
        "      - &leaf {name: leaf1, nodes: [n1], peer: {address: 192.0.2.1, asn: 65001}}\n"
        "      - <<: *leaf\n"
        "        name: leaf2\n"
        "        nodes: [n2]\n"
        "        peer: {address: 192.0.2.2, asn: 65001}\n"
        "  openelb-ha:bgp: {as: 64600}\n"
    )
    from openelb_component.plan.build import load_stack_config

    stack = read_stack(path)
    assert stack.problems == ()
    try:
        config = load_stack_config(stack)
    except ConfigError as error:  # pragma: no cover - shown when it fails
        pytest.fail(error.render())
    assert [leaf.name for leaf in config.topology.leaves] == ["leaf1", "leaf2"]  # type: ignore[union-attr]
