"""BgpPeer changes: every session of the leaf resets at once, which the preview says per leaf.

Any change of a BgpPeer's ``spec`` makes each speaker it selects call GoBGP's ``UpdatePeer``
(the predicate fires on any spec difference, bgppeer_controller.go:184-204, and
``HandleBgpPeer`` updates, pkg/speaker/bgp/peers.go:141-149@v0.5.1), which at v2.23.0 compares
an un-defaulted config with the stored one, finds a difference (``transport.localAddress``
alone always differs) and deletes and re-adds the neighbor (pkg/server/server.go:3031-3063
@v2.23.0): every session of that leaf's router drops at once and comes back when GoBGP dials
again, 5 to 10 s later (pkg/server/fsm.go:522-525@v2.23.0), or sooner when the router dials
(``bgp.timers.connectRetry``). Paths stay in the speakers' RIBs and return with the sessions.

The announcing workload records a digest of every BgpPeer's spec (annotation
``openelb-ha/bgppeers``; the password as a placeholder, so a password change is not seen
here, only in Pulumi's own diff of the BgpPeer), and each run names the leaves whose peer
changes. Pure, like ``bgpconf_change.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from openelb_component.desired.model import DesiredObject, DesiredState
from openelb_component.desired.workloads import BGP_PEERS_ANNOTATION


def peer_digests(objects: Iterable[DesiredObject]) -> dict[str, str]:
    """BgpPeer name -> a hash of its spec (keys sorted; a password is its placeholder)."""
    return {
        obj.name: hashlib.sha256(
            json.dumps(obj.manifest["spec"], sort_keys=True).encode()
        ).hexdigest()[:16]
        for obj in objects
        if obj.kind == "BgpPeer"
    }


def record_annotations(objects: Iterable[DesiredObject]) -> dict[str, str]:
    """The announcing workload's record of the BgpPeers this run applies."""
    digests = peer_digests(objects)
    if not digests:
        return {}
    return {BGP_PEERS_ANNOTATION: json.dumps(digests, sort_keys=True, separators=(",", ":"))}


def recorded_from(annotations: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The record on a live workload's annotations; None when absent or unreadable."""
    text = (annotations if isinstance(annotations, Mapping) else {}).get(BGP_PEERS_ANNOTATION)
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


def reset_warnings(state: DesiredState, recorded: Mapping[str, str] | None) -> list[str]:
    """One warning per leaf whose BgpPeer this run changes (a new or removed peer resets
    nothing that was up: the speakers add or delete that neighbor only)."""
    if recorded is None:
        return []
    leaf_of = {name: leaf for leaf, name in state.peer_by_leaf.items()}
    return [
        f"BgpPeer {name} (leaf {leaf_of.get(name, '?')}) changes: every speaker it selects "
        f"resets its session with leaf {leaf_of.get(name, '?')}'s router at once (GoBGP "
        "UpdatePeer deletes and re-adds the neighbor: pkg/speaker/bgp/peers.go:141-149"
        "@v0.5.1, pkg/server/server.go:3031-3063@v2.23.0), so that leaf has no path for about "
        "5 to 10 s, until the sessions are back; the other leaves are not touched"
        for name, digest in sorted(peer_digests(state.objects).items())
        if name in recorded and recorded[name] != digest
    ]
