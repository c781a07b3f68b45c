"""Plain network namespaces for tests, benchmarks and the small demo.

A `NetnsLab` creates namespaces and veth links whose names all start with one run-unique
prefix, and removes every one of them on exit, also when the body raised. Namespaces are
only ever linked to each other, never to the root namespace, and get no default route, so
no packet sent inside a lab can leave the machine.

Leftovers of a run that was killed are found by their prefix (which carries the pid of the
run that made them) and removed by the next lab whose `cleanup_stale()` runs.
"""
from __future__ import annotations

import itertools
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

from lzr.runtime.process_identity import is_alive
from lzr_sim.processes import stop_process

PREFIX_ROOT = "lzt"
_PREFIX_RE = re.compile(rf"^{PREFIX_ROOT}(\d+)x")
_counter = itertools.count()


class LabError(RuntimeError):
    """A namespace or link operation failed; the message carries the command and its stderr."""


def _run(*cmd: str, check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, input=input_text)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(cmd)}: {result.stderr.strip()}")
    return result


def cleanup_stale() -> list[str]:
    """Remove namespaces and root-side links left by labs whose process is gone."""
    removed = []
    listing = _run("ip", "netns", "list", check=False).stdout.split("\n")
    for name in (line.split()[0] for line in listing if line.strip()):
        match = _PREFIX_RE.match(name)
        if match and not is_alive(int(match.group(1))):
            _run("ip", "netns", "del", name, check=False)
            removed.append(name)
    links = _run("ip", "-o", "link", "show", check=False).stdout.split("\n")
    for line in links:
        parts = line.split(": ")
        if len(parts) < 2:
            continue
        ifname = parts[1].split("@")[0]
        match = _PREFIX_RE.match(ifname)
        if match and not is_alive(int(match.group(1))):
            _run("ip", "link", "del", ifname, check=False)
            removed.append(ifname)
    return removed


def _wait_active(host: "Host", ifname: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while "qdisc noop" in host.cmd("ip", "-o", "link", "show", "dev", ifname).stdout:
        if time.monotonic() > deadline:
            raise LabError(f"{ifname} in {host.netns} was not activated within {timeout:.0f} s")
        time.sleep(0.02)


@dataclass
class Host:
    """One namespace of a lab."""

    lab: "NetnsLab"
    name: str
    netns: str
    interfaces: dict[str, str] = field(default_factory=dict)  # ifname -> "addr/plen"

    def cmd(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command in this namespace and wait for it."""
        return _run("ip", "netns", "exec", self.netns, *argv, check=check)

    def popen(self, *argv: str, **kwargs) -> subprocess.Popen:
        """Start a command in this namespace; the lab stops it on close if it still runs."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.netns, *argv], **kwargs)
        self.lab._processes.append(proc)
        return proc

    def address(self, ifname: str | None = None) -> str:
        """The (first) IPv4/IPv6 address of this host, without prefix length."""
        values = self.interfaces.values() if ifname is None else [self.interfaces[ifname]]
        return next(iter(values)).split("/")[0]

    def mac(self, ifname: str) -> str:
        out = self.cmd("cat", f"/sys/class/net/{ifname}/address").stdout
        return out.strip()


class NetnsLab:
    """A set of linked namespaces, removed on exit.

    with NetnsLab() as lab:
        scanner, target = lab.add_host("scan"), lab.add_host("tgt")
        lab.link(scanner, target, "10.9.0.1/24", "10.9.0.2/24")
    """

    def __init__(self) -> None:
        self.prefix = f"{PREFIX_ROOT}{os.getpid()}x{next(_counter)}"
        self.hosts: dict[str, Host] = {}
        self._links: list[str] = []
        self._processes: list[subprocess.Popen] = []
        self._link_counter = itertools.count()

    def __enter__(self) -> "NetnsLab":
        cleanup_stale()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def add_host(self, name: str) -> Host:
        netns = f"{self.prefix}-{name}"
        _run("ip", "netns", "add", netns)
        host = Host(self, name, netns)
        self.hosts[name] = host
        host.cmd("ip", "link", "set", "lo", "up")
        return host

    def link(self, a: Host, b: Host, a_addr: str | None = None, b_addr: str | None = None,
             offload: bool = False) -> tuple[str, str]:
        """Connect two hosts with a veth pair; returns the interface names (a side, b side).

        Checksum/segmentation offloads are turned off unless `offload` is set, so segments and
        checksums on the wire are what a real NIC would carry. Returns once the kernel has
        activated both ends: activation is deferred work that lags on a loaded machine, and until
        it ran a veth's qdisc is noop and silently drops every frame sent.
        """
        index = next(self._link_counter)
        a_if, b_if = f"{self.prefix}a{index}", f"{self.prefix}b{index}"
        if len(a_if) > 15:
            raise LabError(f"interface name {a_if!r} exceeds 15 characters")
        _run("ip", "link", "add", a_if, "netns", a.netns, "type", "veth", "peer", "name", b_if,
             "netns", b.netns)
        self._links.append(a_if)
        for host, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            if addr:
                flags = ["nodad"] if ":" in addr else []
                host.cmd("ip", "addr", "add", addr, "dev", ifname, *flags)
                host.interfaces[ifname] = addr
            host.cmd("ip", "link", "set", ifname, "up")
            if not offload:
                host.cmd("ethtool", "-K", ifname, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                         "gro", "off", check=False)
        for host, ifname in ((a, a_if), (b, b_if)):
            _wait_active(host, ifname)
        return a_if, b_if

    def close(self) -> None:
        for proc in self._processes:
            stop_process(proc)
        self._processes.clear()
        for host in self.hosts.values():
            _run("ip", "netns", "del", host.netns, check=False)
        self.hosts.clear()
        # Root-side veth ends can outlive a deleted namespace while orphaned sockets live.
        existing = _run("ip", "-o", "link", "show", check=False).stdout
        for ifname in self._links:
            if f" {ifname}@" in existing or f" {ifname}:" in existing:
                _run("ip", "link", "del", ifname, check=False)
        self._links.clear()
