"""What every behaviour shares: its commands, its helper program, install and removal.

A behaviour says what to run inside the host's network namespace, as argv lists, so it works
the same for a lab namespace (`lzr_sim.lab`) and a Mininet host:

* `setup()`    commands to run once, in order (iptables rules);
* `teardown()` commands that undo them;
* `daemon()`   a long-running program the behaviour needs (an NFQUEUE program or a services
               runner), or None; it prints one line starting READY when it is in place.

`install(host)` starts the daemon (waiting for its READY line) and runs the setup commands;
`remove(host)` runs the teardown commands and stops the daemon by its pid. Both only use
`host.popen(*argv, ...)`, which lab and Mininet hosts both offer.

Every iptables rule carries the comment `lzr-sim:<name>:<tag>` with a tag unique to the
instance, so rules are removed exactly and leftovers are recognisable. IPv4 rules use
iptables, IPv6 rules ip6tables (`ipv6=True`).

What the manifest needs to know about a behaviour is in class attributes: its `name` (as the
manifest writes it), its `scope`, whether the port's own service still runs behind it, and
the record a correct scanner writes for a target behaving so (`expected`).
"""
from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import IO, ClassVar, Protocol

from lzr_sim.errors import HarnessError
from lzr_sim.processes import stop_process

_instances = itertools.count()

HOST, PORT, PATH = "host", "port", "path"   # the scopes: a whole host, one port, every target host


class BehaviourError(HarnessError):
    """A behaviour could not be installed; the message has the command and its output."""


class HostLike(Protocol):
    def popen(self, *argv: str, **kwargs) -> subprocess.Popen: ...


def _tag() -> str:
    return f"{os.getpid()}-{next(_instances)}"


def services_runner(entry: dict) -> list[str]:
    """The argv of a services runner (lzr_sim.services.serve) serving one spec entry."""
    return [sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", json.dumps([entry])]


def plain_listener(entry: dict, protocol: str | None) -> dict:
    """The runner entry of a port that behaves normally: its protocol's service, or a
    listener that accepts and never answers where the port runs no protocol."""
    return {**entry, "protocol": protocol} if protocol else {**entry, "mode": "silent"}


def nfqueue_program(*args: str) -> list[str]:
    return [sys.executable, "-m", "lzr_sim.behaviours.nfqueue", *args]


@dataclass
class Behaviour:
    """Base: subclasses override setup/teardown/daemon and the manifest hooks as they need."""

    name: ClassVar[str]
    scope: ClassVar[str]
    # The port's own service keeps running behind the behaviour (else nothing speaks there).
    keeps_service: ClassVar[bool] = False
    # The fields (LZR's JSON names) of a correct scanner's record; None: nothing definite.
    expect: ClassVar[dict | None] = None

    ipv6: bool = False
    tag: str = field(default_factory=_tag)
    _daemon: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _daemon_errors: IO[str] | None = field(default=None, init=False, repr=False)

    # -- what the manifest and the emulated network need --

    @classmethod
    def expected(cls, protocol: str | None) -> dict | None:
        """The record fields of a correct scan of a target that behaves so and runs `protocol`."""
        return None if cls.expect is None else dict(cls.expect)

    @classmethod
    def listener(cls, entry: dict, protocol: str | None) -> dict | None:
        """The services-runner entry of a port with this behaviour, from its bare `entry`
        (address and port); None: nothing listens. Port behaviours override it."""
        return plain_listener(entry, protocol)

    @classmethod
    def for_target(cls, port: int | None) -> "Behaviour | None":
        """What to install on the node for a manifest host (port None) or port with this
        behaviour; None when the port's listener alone plays it."""
        return cls() if cls.scope == HOST else None

    # -- commands --

    def setup(self) -> list[list[str]]:
        return []

    def teardown(self) -> list[list[str]]:
        """By default: the deletion of every rule setup() appends, last first."""
        return [_deletion(argv) for argv in reversed(self.setup())]

    def daemon(self) -> list[str] | None:
        return None

    @property
    def daemon_pid(self) -> int | None:
        """The pid of the running daemon, for callers that account for their processes."""
        return self._daemon.pid if self._daemon is not None else None

    def iptables(self, table: str, chain: str, *rule: str) -> list[str]:
        """An iptables append command; the rule's comment (before its target, if any) names us."""
        command = "ip6tables" if self.ipv6 else "iptables"
        target = rule.index("-j") if "-j" in rule else len(rule)
        comment = ["-m", "comment", "--comment", f"lzr-sim:{self.name}:{self.tag}"]
        return [command, "-w", "-t", table, "-A", chain, *rule[:target], *comment, *rule[target:]]

    def install(self, host: HostLike, timeout: float = 20.0) -> None:
        argv = self.daemon()
        if argv is not None:
            # stderr goes to a file: a pipe nobody reads could fill up and stall the daemon.
            self._daemon_errors = tempfile.TemporaryFile("w+")
            self._daemon = host.popen(*argv, stdout=subprocess.PIPE, stderr=self._daemon_errors, text=True)
            line = _read_line(self._daemon, timeout)
            if not line.startswith("READY"):
                error = self._stop_daemon()
                raise BehaviourError(f"{self.name}: {' '.join(argv)} did not get ready: {line!r} {error}")
        done = []
        try:
            for argv in self.setup():
                _run(host, argv)
                done.append(argv)
        except BehaviourError:
            for argv in reversed(done):
                _run(host, _deletion(argv), check=False)
            self._stop_daemon()
            raise

    def remove(self, host: HostLike) -> None:
        for argv in self.teardown():
            _run(host, argv, check=False)
        self._stop_daemon()

    def _stop_daemon(self) -> str:
        """Stop our daemon (by pid); returns what it wrote on stderr."""
        proc, self._daemon = self._daemon, None
        if proc is None:
            return ""
        stop_process(proc, grace=10)
        proc.stdout.close()
        errors, self._daemon_errors = self._daemon_errors, None
        errors.seek(0)
        text = errors.read()
        errors.close()
        return text


def _deletion(argv: list[str]) -> list[str]:
    """The iptables command deleting the rule that `argv` appends."""
    return ["-D" if word == "-A" else word for word in argv]


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def _run(host: HostLike, argv: list[str], check: bool = True) -> None:
    proc = host.popen(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    if check and proc.returncode != 0:
        raise BehaviourError(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip() or out.strip()}")
