"""Resource options that keep a stack's resources continuous and its state free of passwords.

- Aliases: an object's former keys (a BgpPeer keyed by leaf before it was keyed by router), and
  for a BgpPeer the other of its two types. With ``adopt`` a peer is a ``BgpPeerPatch``
  (``CustomResourcePatch``), without it a ``BgpPeer`` (``CustomResource``); the alias makes
  switching ``adopt`` an update of the same resource, where a new type alone would mean a
  create (AlreadyExists on the object that is still there) and a delete (of that object).
- Secret outputs: what an adopted peer's live object may hold that the stack did not set, see
  ``secret_outputs``.
"""

from __future__ import annotations

import pulumi

from openelb_component.desired import DesiredObject

_PEER_TYPES = (
    "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer",
    "kubernetes:network.kubesphere.io/v1alpha2:BgpPeerPatch",
)


def _types(obj: DesiredObject) -> list[str | None]:
    """The resource's own type first (None: left to the SDK), then a BgpPeer's other type."""
    if obj.kind != "BgpPeer":
        return [None]
    return list(reversed(_PEER_TYPES)) if obj.action == "patch" else list(_PEER_TYPES)


def aliases(component_name: str, obj: DesiredObject) -> list[pulumi.Input[str | pulumi.Alias]]:
    """Every (name, type) the resource may have had, but its own: each explicit, since the SDK
    resolves an alias without a name to nothing."""
    own_name = f"{component_name}-{obj.key}"
    names = [own_name, *(f"{component_name}-{key}" for key in obj.former_keys)]
    types = _types(obj)
    return [
        pulumi.Alias(name=name, type_=typ)
        for name in names
        for typ in types
        if (name, typ) != (own_name, types[0])
    ]


def secret_outputs(obj: DesiredObject) -> list[str] | None:
    """An adopted BgpPeer's ``metadata`` and ``spec`` outputs are secret as a whole.

    The provider stores the whole live object as the resource's outputs
    (``checkpointObject``, provider/pkg/provider/provider.go:3087-3121@v4.32.0) and marks
    secret only what the inputs mark (``annotateSecrets``, :3467-3500). A peer made by hand may
    hold what the stack does not set: a password the stack leaves out (it stays, owned by its
    maker), or a ``last-applied-configuration`` copy of the whole peer in ``metadata``
    (emptied by the adopting patch, but before that the object is the maker's). The engine marks
    listed top-level outputs secret after every step (additionalSecretOutputs, pulumi
    pkg/resource/deploy/step_executor.go:516-554@v3.259.0); top level is its granularity. A
    peer this project creates holds only what it set, and its password output is already
    secret because its input is, so its outputs stay readable.
    """
    if obj.kind == "BgpPeer" and obj.action == "patch":
        return ["metadata", "spec"]
    return None
