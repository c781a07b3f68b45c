"""Peers that send what they should not: the engine ignores it, or ends the target in bounded
time, and never writes more than one final record."""
from lzr.wire.segment import ACK, PSH, RST, SYN, Segment

from .peers import SCANNER, TARGET, Answer, FakeNet, Peer, settings, silent_acker

HTTP_OK = b"HTTP/1.1 200 OK\r\n\r\n"
GET_LEN = 193


def segment(seq, ack, flags, payload=b"", lport=40000, sport=80, saddr=TARGET, window=29200):
    return Segment(4, saddr, SCANNER, sport, lport, seq, ack, flags, window, 64, payload)


def zmap_net(**kw) -> FakeNet:
    net = FakeNet(settings(**kw))
    net.peer(TARGET, 80, Peer(answer=None))
    net.zmap(TARGET, 80)
    return net


def test_data_with_wrong_seq_or_ack_is_ignored():
    net = zmap_net()
    for seq, ack in [(1003, 2001 + GET_LEN), (999, 2001 + GET_LEN), (1001, 2001),
                     (1001, 2002 + GET_LEN)]:
        net.inject(segment(seq, ack, PSH | ACK, HTTP_OK), 0.1)
    net.run(until=0.5)
    assert net.records == [] and net.engine.in_flight == 1
    net.inject(segment(1001, 2001 + GET_LEN, PSH | ACK, HTTP_OK), 0.1)
    net.run()
    [r] = net.records
    assert r.fingerprint == "http"


def test_data_on_another_local_port_is_ignored():
    net = zmap_net()
    net.inject(segment(1001, 2001 + GET_LEN, PSH | ACK, HTTP_OK, lport=40001), 0.1)
    net.run()
    [r] = net.records
    assert r.expected_r_to_lzr == "ack" and not r.data


def test_rst_flood_ends_one_connection_once():
    net = FakeNet(settings(compat=True, handshakes=("http", "tls")))
    net.peer(TARGET, 80, Peer(answer=None, syn="none"))
    net.zmap(TARGET, 80)
    for i in range(1000):
        net.inject(segment(1001, 2001 + GET_LEN, RST | ACK), 0.1 + i * 1e-4)
    net.run()
    [r] = net.records
    assert r.handshake_num == 1 and r.expected_r_to_lzr == "sa"
    assert len([s for _, s in net.sent if s.flags == RST]) == 1
    assert net.engine.in_flight == 0


def test_peer_answering_every_segment_is_bounded():
    net = FakeNet(settings(compat=True))

    def chatty(payload, conn):
        return Answer(ack=True)

    net.peer(TARGET, 80, Peer(answer=chatty))
    net.zmap(TARGET, 80)
    # Unsolicited duplicate ACKs all along do not keep the connection alive.
    for i in range(200):
        net.inject(segment(1001, 2001 + GET_LEN, ACK), 0.05 * i)
    net.run()
    [r] = net.records
    assert r.expected_r_to_lzr == "data" and r.counter == 1
    assert net.sent[-1][0] <= 0.01 + 2 * 5.0 + 1e-9


def test_repeated_synacks_are_ignored():
    net = zmap_net()
    for i in range(5):
        net.inject(segment(1000, 2001, SYN | ACK), 0.2 + i)
    net.run()
    [r] = net.records
    assert r.expected_r_to_lzr == "ack" and r.counter == 1
    assert len(net.sent) == 3       # probe, one retransmission, RST


def test_same_target_fed_twice_is_one_flow():
    net = FakeNet(settings())
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(data=HTTP_OK)))
    net.zmap(TARGET, 80)
    net.engine.add_synack(TARGET, 80, 40001, 5000, 7001, 29200, 0, 0.0)
    net.engine.add_target(TARGET, 80, 0.0)
    assert net.engine.take_sends() == [] and net.engine.in_flight == 1
    net.run()
    assert len(net.records) == 1


def test_segments_for_unknown_flows_are_ignored():
    net = FakeNet(settings())
    for seg in [segment(1, 2, SYN | ACK), segment(1, 2, RST), segment(1, 2, PSH | ACK, b"x"),
                segment(1, 2, ACK, saddr=SCANNER), Segment(6, TARGET, SCANNER, 80, 40000, 1,
                                                             2, ACK, 1, 1, b"")]:
        net.engine.receive(seg, 0.0)
    assert net.engine.take_sends() == [] and net.engine.take_records() == []
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None


def test_version_mismatch_does_not_reach_a_live_flow():
    net = zmap_net()
    net.engine.receive(Segment(6, TARGET, SCANNER, 80, 40000, 1001, 2001 + GET_LEN,
                               PSH | ACK, 1, 1, HTTP_OK), 0.1)
    assert net.engine.take_records() == []


def test_late_segments_after_the_record_are_ignored():
    net = FakeNet(settings())
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(data=HTTP_OK)))
    net.zmap(TARGET, 80)
    net.run()
    sent = len(net.sent)
    for flags in (PSH | ACK, RST, ACK, SYN | ACK):
        net.inject(segment(1001, 2001 + GET_LEN, flags, HTTP_OK if flags & PSH else b""), 1)
    net.run()
    assert len(net.records) == 1 and len(net.sent) == sent


def test_owns_tracks_live_connections_only():
    net = FakeNet(settings(handshakes=("http", "tls"), parallel=2))
    net.peer(TARGET, 80, Peer(answer=silent_acker))
    net.zmap(TARGET, 80)
    syn = next(s for _, s in net.sent if s.flags == SYN)
    assert net.engine.owns(TARGET, 80, 40000) and net.engine.owns(TARGET, 80, syn.sport)
    assert not net.engine.owns(TARGET, 80, 40001) and not net.engine.owns(TARGET, 81, 40000)
    net.run()
    assert not net.engine.owns(TARGET, 80, 40000) and not net.engine.owns(TARGET, 80, syn.sport)


def test_stale_timer_of_an_earlier_handshake_does_nothing():
    # docs/lzr-reference.md §7.3-6: SYN0's timer must not resend SYN0 once handshake 1
    # has its own SYN.
    net = FakeNet(settings(compat=True, handshakes=("http", "tls")))
    peer = net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
    net.syn(TARGET, 80)
    net.run(until=0.015)     # SYN0 answered; the probe is on its way and will be reset
    peer.syn = "none"
    net.run()
    syns = [(t, s) for t, s in net.sent if s.flags == SYN]
    assert [t for t, _ in syns] == [0.0, 0.02, 5.02]
    first, later = syns[0][1], [s for _, s in syns[1:]]
    assert later[0] == later[1] and later[0].sport != first.sport
    [r] = net.records
    assert r.handshake_num == 1 and r.expected_r_to_lzr == "sa"
