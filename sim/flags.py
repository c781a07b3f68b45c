"""The `lzr` flags a scan of an emulated population uses where the user does not say.

Without `-handshakes`: wait, http and tls plus the handshakes the population needs
(lzr_sim.population.needed_handshakes); without `-haf`: ACKing-firewall probes when the
population has ACKing firewalls. `lzr-sim` and the pytest plugin both use these.
"""
from __future__ import annotations

from lzr.handshakes import DEFAULT_ORDER
from lzr_sim.manifest import Manifest
from lzr_sim.population import needed_handshakes

DEFAULT_HAF_PROBES = 3


def lzr_flags_for(manifest: Manifest, flags: list[str] = ()) -> list[str]:
    """`flags` plus what the population needs where they do not say:

    -handshakes: wait,http,tls plus the handshakes of the population's other protocols;
    -haf: 3 ACKing-firewall probes when the population has ACKing firewalls.
    """
    flags = list(flags)
    names = {flag.lstrip("-").split("=")[0] for flag in flags}
    if "handshakes" not in names:
        flags = ["-handshakes", ",".join(default_handshakes(manifest)), *flags]
    if "haf" not in names and any(host.behaviour == "acking-firewall" for host in manifest.hosts):
        flags += ["-haf", str(DEFAULT_HAF_PROBES)]
    return flags


def default_handshakes(manifest: Manifest) -> list[str]:
    """wait,http,tls plus what the population needs (lzr_sim.population.needed_handshakes)."""
    return needed_handshakes(manifest, order=tuple(DEFAULT_ORDER))


def handshakes_of(flags: list[str]) -> list[str]:
    """The handshake order a set of lzr flags asks for."""
    for index, flag in enumerate(flags):
        name, _, value = flag.lstrip("-").partition("=")
        if name == "handshakes":
            text = value or (flags[index + 1] if index + 1 < len(flags) else "")
            return [item.strip() for item in text.split(",") if item.strip()]
    return ["http"]
