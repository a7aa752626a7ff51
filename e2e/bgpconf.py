"""The BgpConf-change acknowledgement as a user gives it (docs/configuration.md,
``openelb-ha:acceptBgpConfChange``): ``pulumi preview`` prints the digest of the pending change,
the user sets it with ``pulumi config set``, runs ``pulumi up`` and removes the key once the
change is applied (``desired/bgpconf_change.py``). Every first ``up`` of a stack with ``bgp``
needs it: the program has applied no BgpConf yet."""

from __future__ import annotations

import re
from collections.abc import Callable

from e2e.engine import Completed
from openelb_component.desired.bgpconf_change import ACCEPT_KEY

PRINTED = re.compile(rf"pulumi config set {ACCEPT_KEY} ([0-9a-f]{{16}})")
"""How the preview's account of a pending change names its digest (``BgpConfChange.describe``)."""

REFUSED = "nothing was applied: this run would change the BgpConf"
"""How ``pulumi up`` refuses a change it has no digest for (``bgpconf_change.refusal``)."""

Pulumi = Callable[..., Completed]
"""Runs ``pulumi ARGS`` for one stack."""


def printed(preview: Completed) -> str | None:
    """The digest a preview printed for a pending BgpConf change; None: no change pending."""
    found = PRINTED.search(preview.stdout + preview.stderr)
    return None if found is None else found.group(1)


def acknowledged_up(
    pulumi: Pulumi, digest: str | None, *args: str
) -> tuple[Completed, list[Completed]]:
    """``pulumi up ARGS`` with ``digest`` set as the acknowledgement and removed after it, as the
    docs tell a user (no digest: a plain ``up``): the ``up``, and the ``config`` commands."""
    if digest is None:
        return pulumi("up", *args), []
    accept = pulumi("config", "set", ACCEPT_KEY, digest)
    up = pulumi("up", *args)
    return up, [accept, pulumi("config", "rm", ACCEPT_KEY)]
