"""The worked traces of docs/lzr-reference.md §2.16, segment by segment, with compat=True."""
from dataclasses import asdict

from lzr.config import EngineConfig
from lzr.engine import Send
from lzr.handshakes import get
from lzr.wire.segment import ACK, PSH, RST, SYN

from .peers import LOCAL_PORTS, TARGET, Answer, FakeNet, Peer, settings

GET = get("http").probe("1.2.3.4")
HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def compat(**kw) -> EngineConfig:
    return settings(compat=True, **kw)


def test_trace_a_zmap_http():
    net = FakeNet(compat(handshakes=("http",)))
    net.peer(TARGET, 8080, Peer(isn=1000, ttl=57,
                                answer=lambda p, c: Answer(ack=True, data=HTTP_OK)))
    net.zmap(TARGET, 8080, lport=40000, isn_s=2000)
    net.run()
    assert len(GET) == 193
    assert [s for _, s in net.sent] == [
        Send(TARGET, 40000, 8080, 2001, 1001, ACK, 29200, GET),
        Send(TARGET, 40000, 8080, 2194, 0, RST, 0, b""),
    ]
    [record] = net.records
    assert asdict(record) == dict(
        saddr="1.2.3.4", daddr="5.6.7.8", sport=8080, dport=40000, seqnum=1001, acknum=2194,
        window=29200, ttl=57, counter=0, ack=True, acked=True, syn=False, rst=False,
        fin=False, push=True, handshake_num=0, fingerprint="http",
        timestamp_ns=10_000_000, expected_r_to_lzr="data", data=HTTP_OK,
        acking_firewall=False, handshake="http", handshakes_tried=1,
        identify_seconds=None,      # timed only for --extended output
        outcome="identified")
    assert net.engine.in_flight == 0


def test_trace_b_wait_then_http():
    net = FakeNet(compat(handshakes=("wait", "http")))

    def answer(payload, conn):
        return Answer(data=HTTP_OK) if payload.startswith(b"GET") else None

    peer = net.peer(TARGET, 8080, Peer(isn=1000, answer=answer))
    net.zmap(TARGET, 8080, lport=40000, isn_s=2000)
    net.run()
    (t0, a0), (t1, a1), (t2, rst), (t3, syn), (t4, probe), (t5, rst2) = net.sent
    assert (t0, a0) == (0.0, Send(TARGET, 40000, 8080, 2001, 1001, ACK, 29200, b""))
    assert (t1, a1) == (1.0, Send(TARGET, 40000, 8080, 2001, 1001, PSH | ACK, 29200, b""))
    assert (t2, rst) == (6.0, Send(TARGET, 40000, 8080, 2001, 0, RST, 0, b""))
    # The next handshake: same instant, a fresh local port and ISN, a normal window.
    assert t3 == 6.0 and syn.flags == SYN and syn.ack == 0 and syn.window == 65535
    assert syn.sport != 40000 and syn.sport in LOCAL_PORTS and syn.payload == b""
    isn_t = peer.conns[syn.sport].isn
    assert (t4, probe) == (6.01, Send(TARGET, syn.sport, 8080, (syn.seq + 1) % 2**32,
                                      isn_t + 1, ACK, 29200, GET))
    [record] = net.records
    assert record.handshake_num == 1 and record.fingerprint == "http"
    assert record.dport == syn.sport and record.data == HTTP_OK
    assert record.handshakes_tried == 2 and record.handshake == "http"
    assert rst2.flags == RST and rst2.seq == (syn.seq + 1 + len(GET)) % 2**32


def test_trace_c_rst_then_tls_with_haf_probes():
    net = FakeNet(compat(handshakes=("http", "tls"), haf=2))
    net.peer(TARGET, 8080, Peer(isn=1000, syn="none",
                                answer=lambda p, c: Answer(ack=False, close=RST)))
    net.zmap(TARGET, 8080, lport=40000, isn_s=2000)
    net.run(until=0.5)
    probe, rst, syn, haf1, haf2 = [s for _, s in net.sent]
    assert rst == Send(TARGET, 40000, 8080, 2194, 0, RST, 0, b"")   # the RST had ACK
    assert syn.flags == SYN and syn.window == 65535 and syn.dport == 8080
    for haf in (haf1, haf2):
        assert haf.flags == SYN and haf.daddr == TARGET and 32768 <= haf.dport < 61000
        assert haf.window == 65535
    assert len({syn.sport, haf1.sport, haf2.sport, 40000}) == 4


def test_trace_d_sendsyns_no_answer():
    net = FakeNet(compat(handshakes=("http",)))
    net.syn(TARGET, 22)
    net.run()
    (t0, syn0), (t1, syn1) = net.sent
    assert (t0, t1) == (0.0, 5.0) and syn0 == syn1
    assert syn0.flags == SYN and syn0.window == 65535 and syn0.dport == 22
    [record] = net.records
    assert asdict(record) == dict(
        saddr="1.2.3.4", daddr="5.6.7.8", sport=22, dport=syn0.sport, seqnum=syn0.seq,
        acknum=0, window=65535, ttl=0, counter=1, ack=False, acked=False, syn=True,
        rst=False, fin=False, push=False, handshake_num=0, fingerprint="unknown",
        timestamp_ns=5_000_000_000, expected_r_to_lzr="sa", data=b"", acking_firewall=False,
        handshake="", handshakes_tried=1, identify_seconds=None, outcome="no-synack")
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None


def test_seeded_isns_and_ports_repeat():
    def first_syn(seed):
        net = FakeNet(compat(), seed=seed)
        net.syn(TARGET, 22)
        return net.sent[0][1]

    assert first_syn(7) == first_syn(7)
    assert first_syn(7) != first_syn(8)



def test_ipv6_addresses_are_written_exploded():
    from lzr.engine import Engine
    from lzr.wire.segment import Segment

    target, scanner = 0x20010DB8 << 96 | 1, 0x20010DB8 << 96 | 2
    engine = Engine(compat(), version=6, scanner_addr=scanner, local_ports=LOCAL_PORTS, seed=1)
    engine.add_synack(target, 80, 40000, 1000, 2001, 29200, 0, 0.0)
    [probe] = engine.take_sends()
    assert b"Host: [2001:0db8:0000:0000:0000:0000:0000:0001]\r\n" in probe.payload
    engine.receive(Segment(6, target, scanner, 80, 40000, 1001, 2001 + len(probe.payload),
                           PSH | ACK, 100, 64, HTTP_OK), 0.1)
    [record] = engine.take_records()
    assert record.saddr == "2001:0db8:0000:0000:0000:0000:0000:0001"
    assert record.daddr == "2001:0db8:0000:0000:0000:0000:0000:0002"
    assert record.fingerprint == "http"
