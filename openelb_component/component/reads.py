"""What the program learns from each read, in one call per read and no Output per read.

The program reads every node and workload before patching it (the read proves the object
exists). Each read is needed for a few fields: the conflict prediction reads ``metadata`` (its
``managedFields``) and the parts of the object the patch applies, a node's read gives its
InternalIP for ``routerConfigs``. All of it is done in one call that receives exactly those
outputs and returns a small ``Findings`` (``judged``). (The announcing workload's read also
feeds the BgpConf gate, which reads its annotations in one more callback:
``OpenElbHa._bgp_conf_gate``.)

Why not ``Output.all``: it lifts every value it is given (``Output.from_input``), and the SDK's
typed outputs (``ObjectMeta``, ``NodeStatus``) are ``dict`` subclasses, so it walks each read's
whole metadata and status, one Output and one task per nested value (pulumi
sdk/python/lib/pulumi/output.py ``from_input``/``all``@v3.272.0, the SDK pinned here). At 1,000
nodes that was 119,000 Outputs. Nor an ``apply`` per output: each apply is an Output, a task
and a callback, and the apply whose callback returns the next output's apply one more; with
the ``Output.all`` that gathered them, that was about 8 Outputs per node, the largest part of the
program's cost beyond the bare registrations. One coroutine awaits every read's outputs in turn
instead (``gathered``), and the component's outputs are computed from its one Output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
from pulumi.output import contains_unknowns

from openelb_component.component.conflicts import Read, report, wire
from openelb_component.desired import DesiredObject
from openelb_component.desired.schedulable import placement_warning

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


def applied(obj: DesiredObject) -> list[str]:
    """The live parts ``obj``'s patch applies to: its metadata, and a workload's spec."""
    return [part for part in obj.manifest if part not in ("apiVersion", "kind")]


def needed(obj: DesiredObject) -> list[str]:
    """The outputs of ``obj``'s read the program needs: the parts its patch applies to, and a
    node's spec (cordoned?) and status."""
    return applied(obj) + (["spec", "status"] if obj.kind == "Node" else [])


def judged(component: pulumi.Resource, obj: DesiredObject, values: Mapping[str, Any]) -> Findings:
    """Everything ``obj``'s read is needed for, in one call: the conflicts of the patch (logged),
    a node's address, and whether a node can take a new pod (``schedulable.py``, logged).
    ``values``: the read's ``needed`` outputs, ``pulumi.UNKNOWN`` for one not known."""
    parts = applied(obj)
    unforced = None
    if all(values[part] is not pulumi.UNKNOWN for part in parts):
        unforced = tuple(report(component, obj, {part: values[part] for part in parts}))
    if obj.kind != "Node":
        return Findings(unforced)
    if values["status"] is pulumi.UNKNOWN:
        return Findings(unforced, address_known=False)
    spec = None if values["spec"] in (None, pulumi.UNKNOWN) else wire(dict(values["spec"]))
    warning = placement_warning(obj.name, spec, wire(dict(values["status"] or {})))
    if warning is not None:
        pulumi.log.warn(warning, resource=component)
    return Findings(unforced, internal_ip(values["status"]))


async def _value(output: pulumi.Output[Any]) -> tuple[Any, bool]:
    """An output's value as ``apply(..., run_with_unknowns=True)`` passes it (``pulumi.UNKNOWN``
    when it is not known and holds no unknown itself, pulumi sdk/python/lib/pulumi/output.py
    ``Output.apply``@v3.272.0), and whether it is secret."""
    value = await output.future(with_unknowns=True)
    if not await output.is_known() and not contains_unknowns(value):
        value = pulumi.UNKNOWN
    return value, await output.is_secret()


def gathered(
    component: pulumi.Resource, reads: Sequence[tuple[DesiredObject, Read]]
) -> pulumi.Output[list[Findings]]:
    """Every read's ``Findings``, in order, as one Output: one coroutine awaits each read's
    needed outputs and judges the read as soon as they resolve, so no Output, apply or task is
    made per read (an ``apply`` per output and an ``Output.all`` over the reads cost more than
    the bare registrations' own work at 2,000 nodes, docs/benchmarks.md). Known, as an apply
    that runs with unknowns is; secret when any output it read is; its resources are the
    reads."""

    # Whether a read's output is secret is known once they are all judged; when a read fails,
    # the Output fails with it and this future is never awaited.
    secret: asyncio.Future[bool] = asyncio.get_event_loop().create_future()

    async def judge_all() -> list[Findings]:
        found, any_secret = [], False
        for obj, read in reads:
            values = {}
            for name in needed(obj):
                values[name], is_secret = await _value(getattr(read, name))
                any_secret = any_secret or is_secret
            found.append(judged(component, obj, values))
        secret.set_result(any_secret)
        return found

    return pulumi.Output({read for _, read in reads}, judge_all(), done(True), secret)


def known(value: T) -> pulumi.Output[T]:
    """A known Output of a plain value, as ``Output.from_input`` makes it but without lifting
    each item of a list or dict into an Output of its own (``from_input`` does, pulumi
    sdk/python/lib/pulumi/output.py@v3.272.0): two lists of every node's name were 4,000
    Outputs at 2,000 nodes."""
    return pulumi.Output(set(), done(value), done(True))


def done(value: T) -> asyncio.Future[T]:
    """A finished future of ``value``: what ``pulumi.Output`` awaits for a part already known."""
    future: asyncio.Future[T] = asyncio.get_event_loop().create_future()
    future.set_result(value)
    return future
