"""Kubernetes naming rules, and the labels OpenELB reads.

The regular expressions are the API server's own (k8s.io/apimachinery validation), so a name
accepted here is accepted by the cluster; rejecting it here means nothing is half-applied.
"""

from __future__ import annotations

import hashlib
import re

PROJECT = "openelb-ha"
"""The Pulumi project's name: the prefix of its stack keys (``openelb-ha:topology``), the prefix of
its own labels and annotations, the name of the objects it creates, and its field manager."""

# Labels OpenELB's guide uses; OpenELB itself reads the rack label (BgpConf.asPerRack, next hops);
# this project's BgpPeers select both, and the workloads' nodeSelector the HA label.
HA_LABEL = "lb.kubesphere.io/v1alpha1"
HA_LABEL_VALUE = "openelb"
RACK_LABEL = "openelb.kubesphere.io/rack"
LEAF_LABEL = f"{PROJECT}/leaf"
"""This project's label naming a node's leaf router, for ``bgp.nextHops: node``: there the rack
label holds the node's own name (each speaker's rack is its node alone), so the BgpPeers and
the spread constraints find a leaf's nodes by this label instead."""
OS_LABEL = "kubernetes.io/os"
HOSTNAME_LABEL = "kubernetes.io/hostname"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def is_dns1123_subdomain(value: str) -> bool:
    """Node and most object names: lowercase RFC 1123 subdomain, at most 253 characters."""
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.fullmatch(value))


def is_dns1123_label(value: str) -> bool:
    """Namespace names: lowercase RFC 1123 label, at most 63 characters."""
    return len(value) <= 63 and bool(_DNS1123_LABEL.fullmatch(value))


def is_label_value(value: str) -> bool:
    """A non-empty label value: at most 63 characters, alphanumeric at both ends."""
    return 0 < len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def object_name_for(prefix: str, identity: str) -> str:
    """A valid object name from an identity that may not be one (a leaf name like ``Rack_A``).

    Identical identities always give the same name (stable previews); identities that had to be
    changed get a short hash so ``Rack_A`` and ``rack-a`` never collide.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", identity.lower()).strip("-")
    name = f"{prefix}-{slug}"
    if slug != identity:
        digest = hashlib.sha256(identity.encode()).hexdigest()[:6]
        name = f"{name}-{digest}"
    return name
