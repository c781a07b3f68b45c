"""Silent ports outside --compat: a port that accepts and never speaks costs about one timeout
in total, not one per handshake; --target-timeout bounds a target; slow banners are still
caught; --compat keeps LZR's timing."""
import pytest

from lzr.handshakes import DEFAULT_ORDER, REGISTRY
from lzr.output.record import Outcome
from lzr.wire.segment import ACK, FIN, RST, SYN

from .peers import TARGET, Answer, FakeNet, Peer, settings, silent_acker

PORT = 9999
SERVER_FIRST = {name for name, hs in REGISTRY.items() if hs.server_first}
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


def scan(cfg, answer, zmap: bool = False) -> FakeNet:
    net = FakeNet(cfg)
    net.peer(TARGET, PORT, Peer(answer=answer))
    if zmap:
        net.zmap(TARGET, PORT)
    else:
        net.syn(TARGET, PORT)
    net.run()
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None
    return net


def ended_at(net: FakeNet) -> float:
    [r] = net.records
    return max(t for t, s in net.sent if s.dport == PORT)


@pytest.mark.parametrize("zmap", [True, False])
def test_a_silent_port_costs_about_one_timeout(zmap):
    # -t 5 -rt 1 -rn 1: LZR spends -t x (-rn + 1) = 10 s on each silent handshake. Here the
    # first round waits -t for answers (lingering without its slots after 8 round trips) and
    # -rt + -t for a banner; every later probe waits 8 round trips (at least 0.25 s), and no
    # other banner window opens. The banner window is the longest wait.
    net = scan(settings(handshakes=DEFAULT_ORDER), silent_acker, zmap)
    [r] = net.records
    assert r.outcome == Outcome.ACKED_NO_DATA and r.handshakes_tried == len(DEFAULT_ORDER)
    assert ended_at(net) <= 6.1
    server_first = [name for name in DEFAULT_ORDER[1:] if name in SERVER_FIRST]
    banners = [s for _, s in net.sent if s.dport == PORT and s.flags == ACK and not s.payload]
    assert len(banners) == 1 and server_first       # wait's window, none of the others'


def test_silent_probes_stop_a_silent_port_sooner():
    net = scan(settings(handshakes=DEFAULT_ORDER, silent_probes=3), silent_acker)
    [r] = net.records
    # The first round lingers; three later probes silent for 8 round trips stop the walk.
    assert r.handshakes_tried <= 9 and ended_at(net) <= 6.1     # wait's window


def test_a_silent_port_ends_within_the_budget():
    net = scan(settings(handshakes=DEFAULT_ORDER, target_timeout=3.0), silent_acker)
    [r] = net.records
    assert r.outcome == Outcome.ACKED_NO_DATA and r.timestamp_ns == 3_000_000_000
    assert ended_at(net) == pytest.approx(3.0)
    resets = {s.sport for t, s in net.sent if s.flags == RST and t == pytest.approx(3.0)}
    # Every connection still open was reset: four in their slots, three of the first round
    # lingering.
    assert len(resets) == 7


@pytest.mark.parametrize("delay", [0.5, 4.0])
def test_a_slow_banner_is_still_caught(delay):
    # An SSH server that greets after `delay` seconds, on every connection, and closes on
    # anything it does not understand once it has greeted.
    net = scan(settings(handshakes=DEFAULT_ORDER),
               lambda p, c: Answer(ack=bool(p), data=SSH_BANNER, delay=delay))
    [r] = net.records
    assert (r.fingerprint, r.outcome) == ("ssh", Outcome.IDENTIFIED)


@pytest.mark.parametrize("delay", [1.0, 4.5])
def test_a_slow_first_round_answer_is_still_caught_while_the_walk_goes_on(delay):
    # An HTTP server whose page takes `delay` seconds, silent to every other probe: http's
    # probe lingers without its slot, the later handshakes go on meanwhile, and the page,
    # however late within -t, names the service.
    http_probe = REGISTRY["http"].probe("192.0.2.1", PORT)[:11]
    page = b"HTTP/1.1 200 OK\r\nServer: slow\r\nContent-Length: 0\r\n\r\n"

    def answer(payload, conn):
        if payload[:11] == http_probe:
            return Answer(data=page, delay=delay)
        return silent_acker(payload, conn)

    net = scan(settings(handshakes=DEFAULT_ORDER), answer)
    [r] = net.records
    assert (r.fingerprint, r.outcome) == ("http", Outcome.IDENTIFIED)
    later = [t for t, s in net.sent if s.flags == SYN and t < delay]
    assert len(later) > 4       # handshakes beyond the first round started before the page


def test_a_port_that_closes_every_wrong_probe_still_walks_the_list():
    # Not silent: a server closing on every probe but its own is reached however deep.
    own = DEFAULT_ORDER.index("ajp13")

    def answer(payload, conn):
        if payload == b"\x12\x34\x00\x01\x0a":
            return Answer(data=b"AB\x00\x01\x09")
        return Answer(close=FIN) if payload else None

    net = scan(settings(handshakes=DEFAULT_ORDER), answer)
    [r] = net.records
    assert (r.fingerprint, r.handshake_num) == ("ajp13", own)


def test_compat_keeps_lzrs_timing_on_a_silent_port():
    # One handshake at a time; wait: -rt + -t; http: ACKed after 2 rtt, then -t twice.
    net = scan(settings(compat=True, handshakes=("wait", "http")), silent_acker, zmap=True)
    syns = [t for t, s in net.sent if s.flags == SYN]
    assert syns == [6.0]
    [r] = net.records
    assert r.handshakes_tried == 2 and ended_at(net) == pytest.approx(16.02)


def test_a_filtered_port_costs_one_syn_and_its_retransmission():
    # The first SYN is sent again after -rt (TCP's initial RTO), then waits -t: 6 s, not
    # LZR's -t x (-rn + 1) = 10 s; and no other handshake starts before the port answers.
    net = FakeNet(settings(handshakes=DEFAULT_ORDER))
    net.peer(TARGET, PORT, Peer(syn="none"))
    net.syn(TARGET, PORT)
    net.run()
    [r] = net.records
    assert [t for t, s in net.sent] == [0.0, 1.0]
    assert (r.outcome, r.expected_r_to_lzr, r.counter) == (Outcome.NO_SYNACK, "sa", 1)
    assert r.timestamp_ns == 1_000_000_000 and r.handshakes_tried == 1
    assert net.engine.in_flight == 0 and net.now == pytest.approx(6.0)
