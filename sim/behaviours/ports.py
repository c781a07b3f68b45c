"""Behaviours of one listening port."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lzr_sim.behaviours.base import PORT, Behaviour, services_runner

MANIFEST_BANNER_DELAY = 2.0  # seconds a manifest's slow-banner port waits before its banner


@dataclass
class RunnerMode(Behaviour):
    """Base of the ports that the services runner plays in one of its modes (`mode`)."""

    scope: ClassVar[str] = PORT
    mode: ClassVar[str]
    port: int = 0

    @classmethod
    def listener(cls, entry, protocol):
        return {**entry, "mode": cls.mode}

    def daemon(self):
        return services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.port, "mode": self.mode})


@dataclass
class ResetAfterHandshake(RunnerMode):
    """The port completes the handshake and at once tears the connection down with a RST.

    Models the paper's post-handshake resets (§2.5, Fig. 3b): 73% (popular ports) and 34%
    (unpopular) of the hosts that never ACK data, in 34% of ASes. A listener accepts and
    closes with SO_LINGER 0, so its kernel sends the RST.
    """

    name: ClassVar[str] = "rst"
    mode: ClassVar[str] = "reset"
    expect: ClassVar[dict] = {"RST": True, "fingerprint": "unknown"}


@dataclass
class NeverAckData(Behaviour):
    """The port completes the handshake but never acknowledges data.

    Models the paper's hosts that SYN-ACK but drop everything after the handshake (§2.3:
    16-40% of SYN-ACKing services never ACK data; §2.6 "dynamic blocking after the
    handshake"). Incoming segments to `port` that carry at least one byte of payload are
    dropped (a u32 match on the TCP data offset and the packet length), so SYNs and pure
    ACKs pass and the connection opens. When the payload rides on the handshake's final ACK,
    as with LZR, the server stays in SYN-RECV and only retransmits its SYN-ACK. On its own
    the rule leaves the port's service alone; in a manifest the port has a listener that
    never answers. IPv4 rules assume no IP options and IPv6 rules no extension headers,
    which is what the emulated hosts send.
    """

    name: ClassVar[str] = "no-ack"
    scope: ClassVar[str] = PORT
    expect: ClassVar[dict] = {"fingerprint": "unknown"}
    port: int = 0

    @classmethod
    def listener(cls, entry, protocol):
        return {**entry, "mode": "silent"}

    @classmethod
    def for_target(cls, port):
        return cls(port=port)

    def setup(self):
        # u32 tests: the IP header is plain (IPv4 byte 0 is 0x45; IPv6 next header, byte 6, is
        # TCP); `X>>26&0x3C` reads the TCP data offset in bytes and `@` moves by it; reading
        # the 4 bytes that end at the first payload byte then only succeeds if there is one.
        if self.ipv6:
            payload_test = "4>>8&0xFF=6&&52>>26&0x3C@37=0:0xFFFFFFFF"
        else:
            payload_test = "0>>24=0x45&&32>>26&0x3C@17=0:0xFFFFFFFF"
        return [self.iptables("filter", "INPUT", "-p", "tcp", "--dport", str(self.port),
                              "-m", "u32", "--u32", payload_test, "-j", "DROP")]


@dataclass
class SlowBanner(Behaviour):
    """A service that waits `delay` seconds after accepting before it says anything.

    Models slow servers that a short timeout misses (LZR's default `-t 5` waits 5 s for
    data; the paper's Algorithm 1 waits up to 100 s). The service runs with the runner's
    `banner_delay` option; a manifest's slow-banner port waits MANIFEST_BANNER_DELAY.
    """

    name: ClassVar[str] = "slow-banner"
    scope: ClassVar[str] = PORT
    keeps_service: ClassVar[bool] = True
    port: int = 0
    protocol: str = "ssh"
    delay: float = 6.0

    @classmethod
    def expected(cls, protocol):
        return {"fingerprint": protocol}

    @classmethod
    def listener(cls, entry, protocol):
        return {**entry, "protocol": protocol, "banner_delay": MANIFEST_BANNER_DELAY}

    def daemon(self):
        return services_runner({"address": "::" if self.ipv6 else "0.0.0.0", "port": self.port,
                                "protocol": self.protocol, "banner_delay": self.delay})


@dataclass
class Silent(RunnerMode):
    """The port accepts connections, reads and discards what arrives, and never sends a byte.

    Models the paper's ports that complete the handshake and ACK data but never answer any
    probe (its "unknown" services that no handshake names). The kernel ACKs every segment, so
    a scanner sees its probe acknowledged and no data.
    """

    name: ClassVar[str] = "silent"
    mode: ClassVar[str] = "silent"
    expect: ClassVar[dict] = {"ACKed": True, "fingerprint": "unknown"}


@dataclass
class Closed(Behaviour):
    """Nothing listens on the port: the host's kernel answers a SYN with a RST."""

    name: ClassVar[str] = "closed"
    scope: ClassVar[str] = PORT
    expect: ClassVar[dict] = {"RST": True, "fingerprint": "unknown"}
    port: int = 0

    @classmethod
    def listener(cls, entry, protocol):
        return None


@dataclass
class Filtered(Behaviour):
    """A firewall on the host drops every SYN to the port: no SYN-ACK, no RST, nothing.

    Models the silent majority of an Internet scan. A scanner that sends its own SYNs
    records the target as never having answered them (LZR: `expectedRToLZR` "sa").
    """

    name: ClassVar[str] = "filtered"
    scope: ClassVar[str] = PORT
    expect: ClassVar[dict] = {"expectedRToLZR": "sa", "fingerprint": "unknown"}
    port: int = 0

    @classmethod
    def listener(cls, entry, protocol):
        return None

    @classmethod
    def for_target(cls, port):
        return cls(port=port)

    def setup(self):
        return [self.iptables("filter", "INPUT", "-p", "tcp", "--syn", "--dport", str(self.port), "-j", "DROP")]
