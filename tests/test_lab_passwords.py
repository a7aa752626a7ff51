"""Every character a BGP password may hold reaches GoBGP and the router as the same TCP MD5
key: real gobgpd speakers and real FRR or BIRD routers in the lab, with a password made of
every printable ASCII character but space, ``"`` and ``\\`` (the rule of docs/security.md),
establish every session of the prod example's leaf that has a password.

The lab draws its passwords at random (``lab-<hex>``); here that draw is replaced, so the
speakers' gobgpd configuration and the routers' configuration (router-config's output) both
carry the special characters.
"""

from __future__ import annotations

import secrets

import pytest

from openelb_component.lab.run import run_lab
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import STACKS_DIR

PROD = STACKS_DIR / "Pulumi.prod.yaml"

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_host")]

EVERY_SPECIAL = "".join(
    c for c in map(chr, range(0x21, 0x7F)) if not c.isalnum() and c not in '"\\'
)
"""``!#$%&'()*+,-./:;<=>?@[]^_`{|}~``: what a shell, YAML, TOML, FRR or BIRD treats specially."""


@pytest.mark.parametrize("router", ["frr", "bird"])
def test_a_password_of_every_special_character_gives_every_session(
    router: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[int] = []

    def token_hex(size: int) -> str:
        drawn.append(size)
        return EVERY_SPECIAL

    monkeypatch.setattr(secrets, "token_hex", token_hex)
    result = run_lab(read_stack(PROD), "steady", router=router)
    assert drawn  # the lab's password was this one
    assert result.ok, result.problems
    leaf = result.leaves["leaf1"]  # the leaf with bgpPasswords.leaf1
    assert leaf.established == leaf.expected != []
