"""The runbook's one quoting path (``plan/shell.py``), proven with ``sh`` itself: any text is
read back as exactly one word, a here-document body is copied as it is, and a secret's variable
is expanded once, its value never read as syntax.

Text without NUL: a shell script cannot hold one (and no value the runbook carries has one).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from openelb_component.plan import shell

# Everything but NUL, with the characters a shell treats specially made likely.
SPECIAL = "$`\\\"'\n\t ;&|<>(){}[]*?!#~=%-"
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPECIAL), st.characters(blacklist_characters="\x00", codec="utf-8")
    ),
    max_size=40,
)


def run_sh(script: str, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "script.sh"
    path.write_text(script)
    done = subprocess.run(
        ["sh", str(path)],
        capture_output=True,
        timeout=30,
        check=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    return done.stdout.decode()  # as bytes: text mode would turn a carriage return into \n


@settings(max_examples=60, deadline=None)
@given(values=st.lists(TEXT, min_size=1, max_size=8))
def test_a_quoted_word_is_read_back_as_exactly_its_text(
    tmp_path_factory: object, values: list[str]
) -> None:
    tmp_path = tmp_path_factory.mktemp("words")  # type: ignore[attr-defined]
    script = "".join(f"printf '%s\\0' {shell.word(value)}\n" for value in values)
    assert run_sh(script, tmp_path).split("\0")[:-1] == values
    assert not (tmp_path / "PWNED").exists()


@settings(max_examples=60, deadline=None)
@given(text=TEXT, secret=TEXT.filter(lambda s: "\n" not in s))
def test_a_here_document_body_is_copied_and_only_the_reference_is_expanded(
    tmp_path_factory: object, text: str, secret: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("heredoc")  # type: ignore[attr-defined]
    marker = "OPENELBHAMARKER0X0"
    body = shell.heredoc_body(f"{text}<{marker}>{text}", {marker: "SECRET_VALUE"})
    delimiter = shell.delimiter_for(body)
    script = f"cat <<{delimiter}\n{body}\n{delimiter}\n"
    out = run_sh(script, tmp_path, {"SECRET_VALUE": secret})
    assert out == f"{text}<{secret}>{text}\n"


def test_the_injections_of_issue_18_stay_text(tmp_path: Path) -> None:
    hostile = [
        "openelb-ha-peer-fe80--1%$(touch PWNED)",
        "x\ntouch PWNED",
        "`touch PWNED`",
        "'; touch PWNED; '",
    ]
    script = "".join(f"printf '%s\\0' {shell.word(value)}\n" for value in hostile)
    assert run_sh(script, tmp_path).split("\0")[:-1] == hostile
    assert not (tmp_path / "PWNED").exists()
