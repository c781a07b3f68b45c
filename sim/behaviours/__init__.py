"""The hard cases of the LZR paper, applied to one emulated host, and their registry.

`BEHAVIOURS` maps each behaviour's name, as a manifest writes it, to its class; the manifest
accepts exactly these names (plus `normal`) and the emulated network builds each target from
its class:

| scope | behaviours (lzr_sim.behaviours.hosts, .ports, .paths) |
|---|---|
| a whole host | zero-window, acking-firewall, shun |
| one port | rst, no-ack, slow-banner, silent, closed, filtered |
| the path to every target host (`--loss`, `--delay`) | loss, delay |

Each class is also usable on its own, on any host that offers `popen` (lzr_sim.behaviours.base
describes how): `applied(host, *behaviours)` installs them for a `with` block and always
removes them. No netem on these kernels: loss uses the `statistic` match and delay an
NFQUEUE program.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from lzr_sim.behaviours.base import HOST, PATH, PORT, Behaviour, BehaviourError, HostLike, plain_listener
from lzr_sim.behaviours.hosts import ACK_LISTENER_PORT, AckingFirewall, Shun, ZeroWindow
from lzr_sim.behaviours.paths import Delay, Loss
from lzr_sim.behaviours.ports import Closed, Filtered, NeverAckData, ResetAfterHandshake, Silent, SlowBanner

__all__ = ["ACK_LISTENER_PORT", "BEHAVIOURS", "HOST_BEHAVIOURS", "NORMAL", "PATH_BEHAVIOURS", "PORT_BEHAVIOURS",
           "AckingFirewall", "Behaviour", "BehaviourError", "Closed", "Delay", "Filtered", "Loss", "NeverAckData",
           "ResetAfterHandshake", "Shun", "Silent", "SlowBanner", "ZeroWindow", "applied", "expected_record", "keeps_service", "listener_entry"]

NORMAL = "normal"

BEHAVIOURS: dict[str, type[Behaviour]] = {
    cls.name: cls for cls in (ZeroWindow, AckingFirewall, Shun, ResetAfterHandshake, NeverAckData, SlowBanner,
                              Silent, Closed, Filtered, Loss, Delay)
}
HOST_BEHAVIOURS = (NORMAL, *(name for name, cls in BEHAVIOURS.items() if cls.scope == HOST))
PORT_BEHAVIOURS = (NORMAL, *(name for name, cls in BEHAVIOURS.items() if cls.scope == PORT))
PATH_BEHAVIOURS = tuple(name for name, cls in BEHAVIOURS.items() if cls.scope == PATH)


def keeps_service(behaviour: str) -> bool:
    """A target with this manifest behaviour still runs its protocol's service."""
    return behaviour == NORMAL or BEHAVIOURS[behaviour].keeps_service


def expected_record(behaviour: str, protocol: str | None) -> dict | None:
    """The fields (LZR JSON names) a correct scanner's record carries for a target."""
    return {"fingerprint": protocol} if behaviour == NORMAL else BEHAVIOURS[behaviour].expected(protocol)


def listener_entry(address: str, port: int, behaviour: str, protocol: str | None) -> dict | None:
    """The services-runner entry of a manifest port; None: nothing listens there."""
    entry = {"address": address, "port": port}
    if behaviour == NORMAL:
        return plain_listener(entry, protocol)
    return BEHAVIOURS[behaviour].listener(entry, protocol)


@contextlib.contextmanager
def applied(host: HostLike, *behaviours: Behaviour) -> Iterator[tuple[Behaviour, ...]]:
    """Install `behaviours` on `host` for the body; all are removed afterwards, also on error."""
    installed: list[Behaviour] = []
    try:
        for behaviour in behaviours:
            behaviour.install(host)
            installed.append(behaviour)
        yield behaviours
    finally:
        for behaviour in reversed(installed):
            behaviour.remove(host)
