"""The lab's namespaces, links and daemons: created from a ``Layout``, removed on every exit.

Safety rules this module keeps:
- it creates namespaces only under the run's own prefix (``oelab<pid>-``) and deletes only the
  ones it created; links are created directly inside those namespaces (never in the host's);
- every address is a documentation address (``layout.py``);
- every command has a timeout and every wait a bound;
- ``close()`` (also on failure, SIGINT, SIGTERM, SIGHUP) stops every process it started, waits
  until ``ip netns pids`` is empty, then deletes the namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from openelb_component.lab.layout import LabLeaf, LabNode, Layout
from openelb_component.lab.leftovers import Run

BGPD = "/usr/lib/frr/bgpd"
ZEBRA = "/usr/lib/frr/zebra"
TOOLS = ("ip", BGPD, ZEBRA, "gobgpd", "gobgp", "bird", "birdc")
COMMAND_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class LabUnavailable(Exception):
    """This machine cannot run the lab (not root, no network namespaces, a tool missing)."""


def check_host() -> None:
    """``LabUnavailable`` with the reason when the lab cannot run here."""
    if os.geteuid() != 0:
        raise LabUnavailable("the lab needs root (network namespaces)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None and not Path(tool).exists()]
    if missing:
        raise LabUnavailable(f"missing {', '.join(missing)}: apt-get install -y frr gobgpd bird2")
    probe = f"oelab{os.getpid()}-probe"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise LabUnavailable(f"cannot create a network namespace: {done.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)


def run(args: Sequence[str], timeout: float = COMMAND_TIMEOUT, check: bool = True) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass(frozen=True)
class RouterView:
    """What one leaf router has at one moment."""

    established: frozenset[str]
    """Neighbor addresses with an Established session."""
    next_hops: Mapping[str, frozenset[str]]
    """Announced address -> the next hops installed in the router's forwarding table (zebra's
    FIB): the ECMP set the router forwards over."""
    received: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Announced address -> the next hops of every path received, valid or not."""
    queued: frozenset[str] = frozenset()
    """Announced addresses whose route zebra is still writing to the kernel ("queued"): the
    kernel forwards as before until it is written, so the sampler keeps the previous hops."""


class Fabric:
    """The running lab. Use as a context manager: leaving it removes everything."""

    def __init__(self, layout: Layout, record: Run, router: str = "frr") -> None:
        self.layout = layout
        self.record = record
        """The run's record (``leftovers``): everything created here is in it until removed."""
        self.router = router
        """``frr`` (zebra and bgpd) or ``bird``: the leaf routers' software."""
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{layout.prefix}-"))
        record.folder(self.workdir)
        self.workdir.chmod(0o755)  # bgpd drops to the frr user and reads its files here
        self.namespaces: list[str] = []
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._previous: dict[int, Any] = {}
        self._vty: dict[str, Vty] = {}
        self.closed = False

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Fabric:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, self._interrupted)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Keep the logs of a run that failed, not of one that was interrupted.
        self.close(keep_files=kind is not None and not issubclass(kind, KeyboardInterrupt))

    def _interrupted(self, signum: int, frame: FrameType | None) -> None:
        # Unwind to __exit__, which removes everything.
        raise KeyboardInterrupt(f"signal {signum}")

    def close(self, keep_files: bool = False) -> None:
        if self.closed:
            return
        # A second Ctrl-C must not stop the cleanup half-way.
        for signum in self._previous:
            signal.signal(signum, signal.SIG_IGN)
        try:
            for vty in self._vty.values():
                vty.close()
            for name in list(self.processes):
                self.stop(name, graceful=True)
            for namespace in reversed(self.namespaces):
                self._delete_namespace(namespace)
            if not keep_files:
                shutil.rmtree(self.workdir, ignore_errors=True)
            # Removed, or kept on purpose (a failed run's logs): not for the cleanup to take.
            self.record.forget_folder(self.workdir)
        finally:
            self.closed = True
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)

    def _delete_namespace(self, namespace: str) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            pids = run(["ip", "netns", "pids", namespace], check=False).split()
            if not pids:
                break
            # Only processes inside the lab's own namespace: the lab started them.
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            time.sleep(0.05)
        run(["ip", "netns", "del", namespace], check=False)
        if namespace not in run(["ip", "netns", "list"], check=False).split():
            self.record.forget_namespace(namespace)

    # --- building ------------------------------------------------------------------------

    def _namespace(self, name: str) -> None:
        self.record.namespace(name)  # recorded first: a kill right after leaves nothing unknown
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def build(self) -> None:
        """Namespaces, one bridge per leaf router, one link per node that may run a speaker."""
        for leaf in self.layout.leaves:
            ns = leaf.namespace
            self._namespace(ns)
            address = f"{leaf.router_address}/{leaf.subnet.prefixlen}"
            run(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"])
            run(["ip", "-n", ns, "addr", "add", address, "dev", "br0"])
            run(["ip", "-n", ns, "link", "set", "br0", "up"])
            for node in self.layout.nodes:
                if node.leaf == leaf.name and node.namespace is not None:
                    self._attach(leaf, node)

    def _attach(self, leaf: LabLeaf, node: LabNode) -> None:
        """The node's namespace and its link to the leaf's bridge, created inside the
        namespaces (the host's own links are never touched)."""
        assert node.namespace is not None  # noqa: S101 - checked by the caller
        self._namespace(node.namespace)
        port = "p-" + node.namespace.rsplit("-", 1)[1]
        link = ["link", "add", port, "type", "veth", "peer", "name", "eth0"]
        run(["ip", "-n", leaf.namespace, *link, "netns", node.namespace])
        run(["ip", "-n", leaf.namespace, "link", "set", port, "master", "br0", "up"])
        address = f"{node.address}/{leaf.subnet.prefixlen}"
        run(["ip", "-n", node.namespace, "addr", "add", address, "dev", "eth0"])
        run(["ip", "-n", node.namespace, "link", "set", "eth0", "up"])

    # --- daemons -------------------------------------------------------------------------

    def _router_dir(self, leaf: LabLeaf) -> Path:
        return self.workdir / f"router-{leaf.index}"

    def start_router(self, leaf: LabLeaf, config: str | None = None) -> None:
        """The leaf's router with ``config`` (the dialect's text), by default the layout's."""
        if self.router == "bird":
            self._start_bird(leaf, config or leaf.bird_config)
        else:
            self._start_frr(leaf, config or leaf.frr_config)

    def reconfigure_router(self, leaf: LabLeaf, config: str) -> None:
        """Merge ``config`` into the running router as an operator pastes router-config's
        output: FRR reads it line by line in configuration mode (what `vtysh` then
        `configure terminal` does); BIRD reloads its file (`birdc configure`), restarting only
        the protocols whose configuration changed."""
        folder = self._router_dir(leaf)
        if self.router == "bird":
            path = folder / "bird.conf"
            path.write_text(config)
            out = run(["birdc", "-s", str(folder / "bird.ctl"), "configure"], timeout=10.0)
            if "Reconfigured" not in out and "Reconfiguration in progress" not in out:
                raise RuntimeError(f"BIRD of {leaf.name} refused the configuration: {out}")
            return
        vty = Vty(folder / "bgpd.vty")
        try:
            vty.command("enable")
            vty.command("configure terminal")
            for line in config.splitlines():
                if line.strip() and not line.lstrip().startswith("!"):
                    vty.command(line.strip())
            vty.command("end")
        finally:
            vty.close()

    def hold_times(self, leaf: LabLeaf) -> dict[str, float]:
        """Neighbor address -> the hold time negotiated on its Established session (s)."""
        if self.router == "bird":
            control = str(self._router_dir(leaf) / "bird.ctl")
            out = run(["birdc", "-s", control, "show", "protocols", "all"], timeout=5.0)
            times: dict[str, float] = {}
            neighbor = None
            for line in out.splitlines():
                if m := re.search(r"Neighbor address:\s*(\S+)", line):
                    neighbor = m.group(1)
                elif (m := re.search(r"Hold timer:\s*[\d.]+/(\d+)", line)) and neighbor:
                    times[neighbor] = float(m.group(1))
            return times
        data = json.loads(self._vty[leaf.name].command("show bgp neighbors json") or "{}")
        return {
            address: peer["bgpTimerHoldTimeMsecs"] / 1000
            for address, peer in data.items()
            if isinstance(peer, dict)
            and peer.get("bgpState") == "Established"
            and "bgpTimerHoldTimeMsecs" in peer
        }

    def _start_bird(self, leaf: LabLeaf, text: str) -> None:
        """BIRD 2 in the router's namespace with the generated configuration; its kernel
        protocol installs the ECMP routes in the namespace's own table."""
        folder = self._router_dir(leaf)
        folder.mkdir(exist_ok=True)
        config = folder / "bird.conf"
        config.write_text(text)
        config.chmod(0o600)  # it holds the lab password
        socket_path = folder / "bird.ctl"
        key = f"{leaf.namespace}/bird"
        self.spawn(
            key,
            [
                *("ip", "netns", "exec", leaf.namespace),
                *("bird", "-f", "-c", str(config), "-s", str(socket_path)),
                *("-P", str(folder / "bird.pid")),
            ],
            folder / "bird.out",
        )
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not socket_path.exists():
            if time.monotonic() > deadline or not self.running(key):
                raise RuntimeError(f"BIRD for {leaf.name} did not start; see {folder}")
            time.sleep(0.02)

    def _start_frr(self, leaf: LabLeaf, text: str) -> None:
        """FRR's zebra and bgpd in the router's namespace, with the generated configuration.
        zebra gives bgpd the connected link, so a next hop off the leaf's link is inaccessible,
        as on a real router, and installs the ECMP routes in the namespace's own table."""
        folder = self._router_dir(leaf)
        folder.mkdir(exist_ok=True)
        shutil.chown(folder, "frr", "frr")
        config = folder / "bgpd.conf"
        config.write_text(text)
        zebra_config = folder / "zebra.conf"
        zebra_config.write_text("")
        for path in (config, zebra_config):
            shutil.chown(path, "frr", "frr")
            path.chmod(0o600)  # bgpd.conf holds the lab password
        common = [
            "-z",
            str(folder / "zserv.api"),
            "--vty_socket",
            str(folder),
            "-u",
            "frr",
            "-g",
            "frr",
        ]
        daemons = {
            "zebra": [ZEBRA, "-f", str(zebra_config), "-i", str(folder / "zebra.pid"), *common],
            "bgpd": [
                BGPD,
                "-f",
                str(config),
                "-l",
                leaf.router_address,
                "-p",
                "179",
                "-i",
                str(folder / "bgpd.pid"),
                *common,
            ],
        }
        for daemon, args in daemons.items():
            key = f"{leaf.namespace}/{daemon}"
            self.spawn(
                key, ["ip", "netns", "exec", leaf.namespace, *args], folder / f"{daemon}.out"
            )
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while not (folder / f"{daemon}.vty").exists():
                if time.monotonic() > deadline or not self.running(key):
                    raise RuntimeError(
                        f"FRR's {daemon} for {leaf.name} did not start; see {folder}"
                    )
                time.sleep(0.02)
        self._vty[leaf.name] = Vty(folder / "bgpd.vty")
        self._vty[f"{leaf.name}/zebra"] = Vty(folder / "zebra.vty")

    def link(self, node: LabNode, up: bool) -> None:
        """The node's link up or down (its NIC): down, its router's port loses carrier and
        nothing passes; the router's own interface (the bridge) stays up, as a leaf switch's
        does when one server goes dark."""
        assert node.namespace is not None  # noqa: S101 - nodes with a link
        run(["ip", "-n", node.namespace, "link", "set", "eth0", "up" if up else "down"])

    def send(self, key: str, signum: int) -> None:
        process = self.processes.get(key)
        if process is not None and process.poll() is None:
            process.send_signal(signum)

    def stop(self, name: str, graceful: bool) -> None:
        """Stop a process: SIGTERM (its own shutdown) or SIGKILL; SIGKILL after a while."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            if graceful:
                process.send_signal(signal.SIGCONT)  # a frozen one must run to stop
            process.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        self.record.forget_process(process.pid)

    def spawn(self, key: str, args: Sequence[str], log: Path) -> None:
        """Start a process under ``key``, recorded in the run's record; its output to ``log``."""
        with log.open("wb") as out:  # the process keeps its own copy
            process = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT)
        self.processes[key] = process
        self.record.process(process.pid)

    def running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    # --- reading the routers ---------------------------------------------------------------

    def router_view(self, leaf: LabLeaf) -> RouterView:
        return self._bird_view(leaf) if self.router == "bird" else self._frr_view(leaf)

    def _bird_view(self, leaf: LabLeaf) -> RouterView:
        """Sessions from ``birdc show protocols``; the paths in use from the namespace's kernel
        table (BIRD's kernel protocol merges the equal paths into one multipath route). BIRD
        drops a path whose next hop is not on a connected network at import, so the next hops
        received off the link cannot be read here: ``received`` holds only the used ones."""
        protocols = run(
            ["birdc", "-s", str(self._router_dir(leaf) / "bird.ctl"), "show", "protocols"],
            timeout=5.0,
        )
        address_of = {
            leaf.bird_protocols[node.name]: node.address
            for node in self.layout.nodes
            if node.leaf == leaf.name and node.name in leaf.bird_protocols
        }
        established = frozenset(
            address_of[fields[0]]
            for line in protocols.splitlines()
            if (fields := line.split()) and fields[0] in address_of and "Established" in fields
        )
        routes = json.loads(
            run(["ip", "-n", leaf.namespace, "-j", "route", "show", "proto", "bird"], timeout=5.0)
            or "[]"
        )
        forwarding: dict[str, frozenset[str]] = {}
        for address in leaf.announced:
            hops: set[str] = set()
            for route in routes:
                if route.get("dst") in (address, f"{address}/32"):
                    hops.update(h["gateway"] for h in route.get("nexthops", []) if "gateway" in h)
                    if "gateway" in route:
                        hops.add(route["gateway"])
            forwarding[address] = frozenset(hops)
        return RouterView(established, forwarding, forwarding)

    def _frr_view(self, leaf: LabLeaf) -> RouterView:
        """Sessions and received paths from bgpd; the paths in use from zebra's forwarding
        table (installed routes, next hops in the FIB): what the router forwards over, not a
        best-path computation caught half-way."""
        bgpd, zebra = self._vty[leaf.name], self._vty[f"{leaf.name}/zebra"]
        summary = json.loads(bgpd.command("show bgp ipv4 unicast summary json") or "{}")
        table = json.loads(bgpd.command("show bgp ipv4 unicast json") or "{}")
        fib = json.loads(zebra.command("show ip route bgp json") or "{}")
        peers = summary.get("peers", {})
        established = frozenset(
            address for address, peer in peers.items() if peer.get("state") == "Established"
        )
        routes = table.get("routes", {})
        forwarding: dict[str, frozenset[str]] = {}
        received: dict[str, frozenset[str]] = {}
        for address in leaf.announced:
            prefix = f"{address}/32"
            received[address] = frozenset(
                hop["ip"]
                for path in routes.get(prefix, [])
                for hop in path.get("nexthops", [])
                if hop.get("ip")
            )
            forwarding[address] = frozenset(
                hop["ip"]
                for route in fib.get(prefix, [])
                if route.get("installed")
                for hop in route.get("nexthops", [])
                if hop.get("fib") and hop.get("ip")
            )
        queued = frozenset(
            address
            for address in leaf.announced
            if any(route.get("queued") for route in fib.get(f"{address}/32", []))
        )
        return RouterView(established, forwarding, received, queued)


class Vty:
    """A connection to an FRR daemon's vty socket, as vtysh talks to it: a command ends with
    NUL, the reply with three NULs and a status byte. Far cheaper than a vtysh process per
    sample, which keeps the sampling interval short."""

    def __init__(self, path: Path, timeout: float = COMMAND_TIMEOUT) -> None:
        # The socket's file appears when the daemon binds it and takes connections only once
        # it listens (lib/vty.c:1939-1947@frr-8.4.4): a connect in between is refused, which
        # a loaded machine makes likely. Retry until the daemon listens, within ``timeout``.
        deadline = time.monotonic() + timeout
        while True:
            self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.socket.settimeout(COMMAND_TIMEOUT)
            try:
                self.socket.connect(str(path))
                break
            except (ConnectionRefusedError, FileNotFoundError):
                self.socket.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.lock = threading.Lock()

    def command(self, text: str) -> str:
        with self.lock:
            self.socket.sendall(text.encode() + b"\0")
            reply = b""
            while len(reply) < 4 or reply[-4:-1] != b"\0\0\0":
                chunk = self.socket.recv(1 << 16)
                if not chunk:
                    raise RuntimeError("FRR closed its vty socket")
                reply += chunk
        if reply[-1] != 0:
            raise RuntimeError(f"FRR refused {text!r}: {reply[:-4].decode(errors='replace')}")
        return reply[:-4].decode()

    def close(self) -> None:
        self.socket.close()
