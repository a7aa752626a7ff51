"""What the program learns from each read, in one callback per read.

The program reads every node and workload before patching it (the read proves the object
exists). Each read is needed for a few fields: the conflict prediction reads ``metadata`` (its
``managedFields``) and the parts of the object the patch applies, a node's read gives its
InternalIP for ``routerConfigs``. All of it is done in one callback that receives exactly those
outputs and returns a small ``Findings``. (The announcing workload's read also feeds the BgpConf
gate, which reads its annotations in one more callback: ``OpenElbHa._bgp_conf_gate``.)

Why not ``Output.all``: it lifts every value it is given (``Output.from_input``), and the SDK's
typed outputs (``ObjectMeta``, ``NodeStatus``) are ``dict`` subclasses, so it walks each read's
whole metadata and status, one Output and one task per nested value (pulumi
sdk/python/lib/pulumi/output.py ``from_input``/``all``@v3.272.0, the SDK pinned here). At 1,000
nodes that was 119,000 Outputs. Outputs of one read are chained instead (an ``apply`` that
returns the next output is awaited as it is, not lifted), and only the small findings are
gathered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from openelb_component.component.conflicts import Read, report
from openelb_component.desired import DesiredObject

T = TypeVar("T")


@dataclass(frozen=True)
class Findings:
    """What one read told the program. A part of the read that is not known (a preview can
    leave a missing output unknown) leaves what depends on it unknown, as ``Output.all`` would:
    ``unforced`` None when the patched parts are not known, ``address_known`` False when a
    node's status is not."""

    unforced: tuple[str, ...] | None = ()
    """The messages of the conflicts ``up`` would stop on."""
    address: str | None = None
    """A node's InternalIP, the address OpenELB uses (None: not a node, or none reported)."""
    address_known: bool = True


def field(value: Any, name: str) -> Any:
    # A read's output is the SDK's typed output object, or a plain dict (mocks, other hosts).
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def internal_ip(status: Any) -> str | None:
    """A Node status's first InternalIP, the address OpenELB uses (routers/openelb.py)."""
    for entry in field(status, "addresses") or []:
        if field(entry, "type") == "InternalIP":
            address = field(entry, "address")
            return None if address is None else str(address)
    return None


def together(
    read: pulumi.Resource, names: Sequence[str], done: Callable[[dict[str, Any]], T]
) -> pulumi.Output[T]:
    """``done`` called once with the read's outputs ``names`` (``pulumi.UNKNOWN`` for one not
    known), without lifting them: each output's ``apply`` returns the next one's."""

    def after(index: int, values: dict[str, Any]) -> Any:
        if index == len(names):
            return done(values)
        name = names[index]
        output: pulumi.Output[Any] = getattr(read, name)
        return output.apply(
            lambda value: after(index + 1, {**values, name: value}), run_with_unknowns=True
        )

    result: pulumi.Output[T] = after(0, {})
    return result


def findings(component: pulumi.Resource, obj: DesiredObject, read: Read) -> pulumi.Output[Findings]:
    """Everything ``obj``'s read is needed for, in one callback: the conflicts of the patch
    (logged) and a node's address."""
    # The live parts the patch applies to: its metadata, and a workload's spec.
    applied = [part for part in obj.manifest if part not in ("apiVersion", "kind")]
    names = applied + (["status"] if obj.kind == "Node" else [])

    def done(values: Mapping[str, Any]) -> Findings:
        unforced = None
        if all(values[part] is not pulumi.UNKNOWN for part in applied):
            unforced = tuple(report(component, obj, {part: values[part] for part in applied}))
        if obj.kind != "Node":
            return Findings(unforced)
        if values["status"] is pulumi.UNKNOWN:
            return Findings(unforced, address_known=False)
        return Findings(unforced, internal_ip(values["status"]))

    return together(read, names, done)


def gathered(found: Sequence[pulumi.Output[Findings]]) -> pulumi.Output[list[Findings]]:
    """Every read's findings, once all are known (each a small object: nothing to lift)."""
    return pulumi.Output.all(*found)
