"""A fake network for driving the engine: a fake clock and scripted TCP peers.

    net = FakeNet(settings(handshakes=("http",)))
    net.peer(TARGET, 8080, Peer(answer=reply(b"HTTP/1.1 200 OK\\r\\n")))
    net.zmap(TARGET, 8080)              # ZMap saw a SYN-ACK: the engine sends its probe
    net.run()                           # deliver, answer and fire timers until all is quiet
    [record] = net.records

Every segment the engine sends is logged with its time in `net.sent`; a peer answers after
`rtt` seconds. A `Peer` is a tiny TCP server: it SYN-ACKs (or not), and when a probe
arrives its `answer(payload, peer_conn)` says what to do: an `Answer`, or None for silence.
Targets without a peer never answer.
"""
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable

from lzr.config import EngineConfig, ScanConfig
from lzr.engine import Engine, Send
from lzr.wire.segment import ACK, PSH, RST, SYN, Segment

SCANNER = 0x05060708    # 5.6.7.8
TARGET = 0x01020304     # 1.2.3.4
LOCAL_PORTS = range(32768, 61000)
MOD32 = 0xFFFFFFFF


def settings(**values) -> EngineConfig:
    """The engine's settings for a scan with these ScanConfig values, the rest defaults."""
    return ScanConfig(workers=1, **values).validate().engine_config()


@dataclass(frozen=True)
class Answer:
    """What a peer does when a probe (or its retransmission) reaches it."""

    ack: bool = True            # ACK the probe first, in its own segment
    data: bytes = b""           # then send this
    close: int = 0              # then RST or FIN (flag), or 0
    delay: float = 0.0          # data and close come this much later than the ACK


def reply(data: bytes, ack: bool = True) -> Callable:
    """A peer rule that answers any probe (even an empty one) with `data`."""
    return lambda payload, conn: Answer(ack=ack, data=data)


def silent_acker(payload: bytes, conn) -> Answer:
    """ACKs every probe, never says anything."""
    return Answer()


@dataclass
class PeerConn:
    """The peer's side of one connection."""

    isn: int
    rcv_nxt: int                # the next byte the peer expects from us
    probes: list = field(default_factory=list)   # payloads received
    closed: bool = False        # we reset it


@dataclass
class Peer:
    syn: str = "synack"         # how a SYN is answered: synack, zero (zero window), rst, none
    answer: Callable | None = silent_acker
    window: int = 29200
    ttl: int = 60
    isn: int = 1000
    conns: dict = field(default_factory=dict)    # our local port -> PeerConn, never removed

    def on_segment(self, s: Send, addr: int, port: int) -> list[tuple[float, Segment]]:
        """What the peer sends in answer to `s`: (seconds after the ACK, segment)."""
        def seg(seq, ack, flags, payload=b"", window=self.window):
            return Segment(4, addr, SCANNER, port, s.sport, seq & MOD32, ack & MOD32, flags,
                           window, self.ttl, payload)

        if s.flags & RST:
            if s.sport in self.conns:
                self.conns[s.sport].closed = True
            return []
        if s.flags & SYN:
            if self.syn == "none":
                return []
            if self.syn == "rst":
                return [(0.0, seg(0, s.seq + 1, RST | ACK, window=0))]
            isn = self.isn + 1000 * len(self.conns)
            self.conns[s.sport] = PeerConn(isn, (s.seq + 1) & MOD32)
            window = 0 if self.syn == "zero" else self.window
            return [(0.0, seg(isn, s.seq + 1, SYN | ACK, window=window))]
        conn = self.conns.get(s.sport)
        if conn is None or conn.closed or self.answer is None:
            return []
        if s.seq != conn.rcv_nxt and not s.payload:
            return []
        if s.payload and s.seq == conn.rcv_nxt:
            conn.rcv_nxt = (conn.rcv_nxt + len(s.payload)) & MOD32
        if not s.payload and not s.flags & PSH and conn.probes:
            return []
        conn.probes.append(s.payload)
        what = self.answer(s.payload, conn)
        if what is None:
            return []
        out = []
        if what.ack and s.payload:      # an empty segment has nothing to acknowledge
            out.append((0.0, seg(conn.isn + 1, conn.rcv_nxt, ACK)))
        if what.data:
            out.append((what.delay, seg(conn.isn + 1, conn.rcv_nxt, PSH | ACK, what.data)))
        if what.close:
            out.append((what.delay, seg(conn.isn + 1 + len(what.data), conn.rcv_nxt,
                                        what.close | ACK)))
        return out


class FakeNet:
    def __init__(self, cfg: EngineConfig, rtt: float = 0.01, seed: int = 1,
                 local_ports: range = LOCAL_PORTS) -> None:
        self.engine = Engine(cfg, version=4, scanner_addr=SCANNER, local_ports=local_ports,
                             seed=seed)
        self.rtt = rtt
        self.now = 0.0
        self.peers: dict[tuple[int, int], Peer] = {}
        self.sent: list[tuple[float, Send]] = []
        self.records = []
        self._arrivals: list = []       # heap of (time, n, segment)
        self._n = itertools.count()
        self._open_ports: dict[int, int] = {}   # address -> more ports that will SYN-ACK
        self._refusing: set[int] = set()        # addresses whose other ports answer RST

    def peer(self, addr: int, port: int, peer: Peer) -> Peer:
        self.peers[addr, port] = peer
        return peer

    def answer_any_port(self, addr: int, count: int = 1 << 30) -> None:
        """The address SYN-ACKs the next `count` SYNs to ports without a peer (an ACKing
        firewall answers them all)."""
        self._open_ports[addr] = count

    def refuse_other_ports(self, addr: int) -> None:
        """SYNs to the address's ports without a peer get a RST, as from an ordinary host
        (without this they get nothing, as from a host that drops them)."""
        self._refusing.add(addr)

    def zmap(self, addr: int, port: int, lport: int = 40000, isn_s: int = 2000,
             window: int | None = None, ttl: int = 0) -> None:
        """ZMap's SYN (ISN isn_s from `lport`) got a SYN-ACK: hand it to the engine."""
        peer = self.peers.get((addr, port)) or self.peer(addr, port, Peer())
        isn = peer.isn + 1000 * len(peer.conns)
        peer.conns[lport] = PeerConn(isn, isn_s + 1)
        self.engine.add_synack(addr, port, lport, isn, isn_s + 1,
                               peer.window if window is None else window, ttl, self.now)
        self._flush()

    def syn(self, addr: int, port: int) -> None:
        """-sendSYNs: the engine opens the connection itself."""
        self.engine.add_target(addr, port, self.now)
        self._flush()

    def inject(self, segment: Segment, after: float = 0.0) -> None:
        heapq.heappush(self._arrivals, (self.now + after, next(self._n), segment))

    def run(self, until: float = 1e9) -> None:
        """Deliver segments and fire timers in time order until nothing is left or `until`."""
        while True:
            times = [t for t in (self.engine.next_deadline(),
                                 self._arrivals[0][0] if self._arrivals else None)
                     if t is not None]
            if not times or min(times) > until:
                return
            self.now = max(self.now, min(times))
            while self._arrivals and self._arrivals[0][0] <= self.now:
                self.engine.receive(heapq.heappop(self._arrivals)[2], self.now)
                self._flush()
            self.engine.advance(self.now)
            self._flush()

    def _flush(self) -> None:
        self.records.extend(self.engine.take_records())
        for s in self.engine.take_sends():
            self.sent.append((self.now, s))
            peer = self.peers.get((s.daddr, s.dport))
            if peer is None and s.flags == SYN and self._open_ports.get(s.daddr, 0) > 0:
                self._open_ports[s.daddr] -= 1
                peer = self.peer(s.daddr, s.dport, Peer(answer=silent_acker))
            elif peer is None and s.flags == SYN and s.daddr in self._refusing:
                peer = Peer(syn="rst")
            if peer is not None:
                for later, segment in peer.on_segment(s, s.daddr, s.dport):
                    self.inject(segment, self.rtt + later)
        self.records.extend(self.engine.take_records())

    def sends(self, flags: int | None = None) -> list[tuple[float, Send]]:
        return [(t, s) for t, s in self.sent if flags is None or s.flags == flags]
