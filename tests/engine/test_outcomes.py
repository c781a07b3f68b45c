"""Which packet each outcome records (docs/lzr-reference.md §4.3), timer schedules (§2.7) and the options
-forceAllHandshakes, -pushDataOnly, -haf and server-first handshakes, all with compat=True."""
import pytest

from lzr.config import EngineConfig
from lzr.engine import Send
from lzr.handshakes import get
from lzr.output.record import Outcome
from lzr.wire.segment import ACK, FIN, PSH, RST, SYN, Segment

from .peers import SCANNER, TARGET, Answer, FakeNet, Peer, settings, silent_acker

GET = get("http").probe("1.2.3.4")
HTTP_OK = b"HTTP/1.1 200 OK\r\n\r\n"


def compat(**kw) -> EngineConfig:
    return settings(compat=True, **kw)


def outcome(peer: Peer, cfg: EngineConfig | None = None, syn: bool = False):
    net = FakeNet(cfg or compat())
    net.peer(TARGET, 80, peer)
    if syn:
        net.syn(TARGET, 80)
    else:
        net.zmap(TARGET, 80)
    net.run()
    [record] = net.records
    assert net.engine.in_flight == 0
    return net, record


def fields(record):
    return (record.expected_r_to_lzr, record.handshake_num, record.counter)


# ---- one test per row of §4.3 -----------------------------------------------------------

def test_row_data_received():
    net, r = outcome(Peer(answer=lambda p, c: Answer(data=HTTP_OK)))
    assert fields(r) == ("data", 0, 0) and r.data == HTTP_OK and r.push and r.ack
    assert r.outcome == Outcome.IDENTIFIED
    assert net.sent[-1][1] == Send(TARGET, 40000, 80, r.acknum, 0, RST, 0, b"")


@pytest.mark.parametrize("with_ack", [True, False])
def test_row_rst_received(with_ack):
    net = FakeNet(compat())
    net.peer(TARGET, 80, Peer(answer=None))
    net.zmap(TARGET, 80)
    flags = RST | ACK if with_ack else RST
    net.inject(Segment(4, TARGET, SCANNER, 80, 40000, 1001, 2001 + len(GET) if with_ack else 0,
                       flags, 0, 50, b""), 0.2)
    net.run()
    [r] = net.records
    assert fields(r) == ("", 0, 0) and r.rst and r.ack == with_ack and r.ttl == 50
    assert r.outcome == Outcome.RST
    assert r.acked == with_ack
    rsts = [s for _, s in net.sent if s.flags == RST]
    assert len(rsts) == (1 if with_ack else 0)   # no RST in reply to a bare RST


def test_row_fin_received():
    net, r = outcome(Peer(answer=lambda p, c: Answer(ack=False, close=FIN)))
    assert fields(r) == ("", 0, 0) and r.fin and not r.rst and r.outcome == Outcome.FIN
    assert net.sent[-1][1].flags == RST


def test_row_probe_unanswered():
    net, r = outcome(Peer(answer=None))
    assert fields(r) == ("ack", 0, 1) and r.outcome == Outcome.ACKED_NO_DATA
    assert (r.seqnum, r.acknum, r.window, r.syn, r.ack, r.acked) == (1000, 2001, 29200, True,
                                                                     True, False)
    assert r.timestamp_ns == 1_000_000_000      # the reference was last sent at 1 s
    assert net.sent[-1] == (6.0, Send(TARGET, 40000, 80, 2001, 0, RST, 0, b""))


def test_row_probe_acked_no_data():
    net, r = outcome(Peer(answer=silent_acker))
    assert fields(r) == ("data", 0, 1) and r.outcome == Outcome.ACKED_NO_DATA
    assert (r.seqnum, r.acknum, r.syn, r.ack, r.acked) == (1001, 2001 + len(GET), False, True,
                                                           True)
    assert net.sent[-1] == (10.01, Send(TARGET, 40000, 80, 2001 + len(GET), 0, RST, 0, b""))


def test_row_our_syn_unanswered():
    net, r = outcome(Peer(syn="none"), syn=True)
    assert fields(r) == ("sa", 0, 1) and r.syn and not r.ack and r.acknum == 0
    assert r.outcome == Outcome.NO_SYNACK
    assert not [s for _, s in net.sent if s.flags == RST]


def test_row_zero_window_zmap():
    net = FakeNet(compat())
    net.zmap(TARGET, 80, window=0)
    [r] = net.records
    assert fields(r) == ("", 0, 0) and r.window == 0 and r.syn and r.ack and not r.acked
    assert r.timestamp_ns is None and net.sent == [] and net.engine.in_flight == 0
    assert r.outcome == Outcome.ZERO_WINDOW


def test_row_zero_window_on_our_syn_ends_the_target():
    net, r = outcome(Peer(syn="zero"), syn=True)
    assert fields(r) == ("", 0, 0) and r.window == 0 and r.syn
    assert r.outcome == Outcome.ZERO_WINDOW
    assert [s.flags for _, s in net.sent] == [SYN]      # no probe, no SYN retransmission


def test_row_zero_window_on_a_later_handshake_keeps_its_index():
    net = FakeNet(compat(handshakes=("http", "tls")))
    peer = net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
    net.zmap(TARGET, 80)
    peer.syn = "zero"
    net.run()
    [r] = net.records
    assert r.window == 0 and r.syn and r.handshake_num == 1    # LZR writes 0 (§7.3-14)


def test_row_rst_answering_our_syn_is_recorded_at_once():
    net, r = outcome(Peer(syn="rst"), cfg=compat(handshakes=("http", "tls")), syn=True)
    assert fields(r) == ("", 0, 0) and r.rst and not r.acked and r.outcome == Outcome.CLOSED
    assert r.timestamp_ns == 10_000_000         # one round trip, not (rn+1)*t
    assert [s.flags for _, s in net.sent] == [SYN]


def test_row_force_mode_data_on_every_handshake():
    net = FakeNet(compat(handshakes=("http", "tls", "wait"), force_all=True))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(data=HTTP_OK)))
    net.zmap(TARGET, 80)
    net.run()
    assert [(r.handshake_num, r.expected_r_to_lzr, r.fingerprint) for r in net.records] == [
        (0, "data", "http"), (1, "data", "http"), (2, "data", "http")]
    assert len({r.dport for r in net.records}) == 3 and net.engine.in_flight == 0


# ---- timer schedules (§2.7) --------------------------------------------------------------

@pytest.mark.parametrize("t, rt, rn", [(5.0, 1.0, 1), (3.0, 0.5, 2), (2.0, 1.5, 0)])
def test_probe_unanswered_schedule(t, rt, rn):
    net, r = outcome(Peer(answer=None), cfg=compat(timeout=t, retransmit_after=rt, retries=rn))
    times = [when for when, s in net.sent]
    assert times == [0.0] + [rt + i * t for i in range(rn)] + [rt + rn * t]
    assert [s.flags for _, s in net.sent] == [ACK] + [PSH | ACK] * rn + [RST]
    assert all(s.payload == GET for _, s in net.sent[:-1]) and r.counter == rn


@pytest.mark.parametrize("t, rt, rn", [(5.0, 1.0, 1), (3.0, 0.5, 2), (2.0, 1.5, 0)])
def test_probe_acked_schedule(t, rt, rn):
    net = FakeNet(compat(timeout=t, retransmit_after=rt, retries=rn))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer() if not c.probes[:-1] else None))
    net.zmap(TARGET, 80)
    net.run()
    a = net.rtt     # the ACK arrives one round trip after the probe
    assert [when for when, _ in net.sent] == [0.0] + [a + i * t for i in range(1, rn + 1)] + [
        a + (rn + 1) * t]
    retransmissions = [s for _, s in net.sent if s.flags == PSH | ACK]
    for s in retransmissions:   # a true duplicate of the probe (LZR's goes after it, §7.3-7)
        assert (s.seq, s.ack, s.payload) == (2001, 1001, GET)
    assert net.records[0].counter == rn and net.records[0].expected_r_to_lzr == "data"


@pytest.mark.parametrize("t, rn", [(5.0, 1), (2.0, 3), (4.0, 0)])
def test_syn_unanswered_schedule(t, rn):
    net, r = outcome(Peer(syn="none"), cfg=compat(timeout=t, retries=rn), syn=True)
    assert [when for when, _ in net.sent] == [i * t for i in range(rn + 1)]
    assert r.counter == rn and r.timestamp_ns == round(rn * t * 1e9)
    assert net.engine.next_deadline() is None


def test_unanswered_syn_on_a_later_handshake_ends_the_target():
    net = FakeNet(compat(handshakes=("http", "tls", "wait")))
    peer = net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
    net.zmap(TARGET, 80)
    peer.syn = "none"
    net.run()
    [r] = net.records
    assert fields(r) == ("sa", 1, 1) and r.acked      # handshake 2 never starts


# ---- handshake lists and options ---------------------------------------------------------

def test_wait_http_tls_reaches_the_third_handshake():
    net = FakeNet(compat(handshakes=("wait", "http", "tls")))

    def answer(payload, conn):
        if payload.startswith(b"\x16\x03"):
            return Answer(data=bytes.fromhex("160303005d020000"))
        return Answer(ack=False, close=RST) if payload else None

    net.peer(TARGET, 443, Peer(answer=answer))
    net.zmap(TARGET, 443)
    net.run()
    [r] = net.records
    assert (r.handshake_num, r.fingerprint, r.handshakes_tried) == (2, "tls", 3)
    syns = [s for _, s in net.sent if s.flags == SYN]
    assert len(syns) == 2 and len({s.sport for s in syns} | {40000}) == 3


def test_force_mode_writes_one_final_record_when_nothing_answers():
    net = FakeNet(compat(handshakes=("http", "tls"), force_all=True))
    net.peer(TARGET, 80, Peer(syn="none", answer=None))
    net.zmap(TARGET, 80)
    net.run()
    [r] = net.records
    assert fields(r) == ("sa", 1, 1)    # an unanswered SYN moves on in force mode (§2.11)


def test_force_mode_skips_the_trailing_empty_attempt():
    net = FakeNet(compat(handshakes=("http", "tls"), force_all=True, haf=3))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(data=HTTP_OK) if p.startswith(b"GET")
                              else None))
    net.zmap(TARGET, 80)
    net.run()
    [r] = net.records
    assert r.handshake_num == 0 and r.fingerprint == "http"
    assert all(s.dport == 80 for _, s in net.sent)      # force mode turns -haf off


def test_push_data_only():
    net = FakeNet(compat(push_data_only=True))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(data=HTTP_OK) if p else None))
    net.zmap(TARGET, 80)
    net.run()
    (t0, first), (t1, push), (t2, rst) = net.sent
    assert (t0, first) == (0.0, Send(TARGET, 40000, 80, 2001, 1001, ACK, 29200, b""))
    assert (t1, push) == (1.0, Send(TARGET, 40000, 80, 2001, 1001, PSH | ACK, 29200, GET))
    [r] = net.records
    assert r.data == HTTP_OK and r.acknum == 2001 + len(GET) and rst.seq == r.acknum


def test_push_data_only_without_retries_never_sends_the_probe():
    net, r = outcome(Peer(answer=None), cfg=compat(push_data_only=True, retries=0))
    assert all(s.payload == b"" for _, s in net.sent) and r.expected_r_to_lzr == "ack"


def test_server_first_banner():
    net, r = outcome(Peer(answer=lambda p, c: Answer(ack=False, data=b"SSH-2.0-OpenSSH_9.6\r\n")),
                     cfg=compat(handshakes=("wait",)))
    assert net.sent[0][1].payload == b"" and r.fingerprint == "ssh" and r.acknum == 2001


def test_priority_breaks_ties():
    banner = b"220 Welcome\r\n"
    _, r = outcome(Peer(answer=lambda p, c: Answer(data=banner)), cfg=compat())
    assert r.fingerprint == "smtp-ftp"
    _, r = outcome(Peer(answer=lambda p, c: Answer(data=banner)), cfg=compat(priority=("ftp",)))
    assert r.fingerprint == "ftp"


# ---- ACKing firewalls (§2.13) ------------------------------------------------------------

def haf_scan(answered: int, probes: int = 4, threshold: float = 1.0):
    """http then tls on a port that resets the GET; the address SYN-ACKs `answered` of the
    `probes` random ports the ACKing-firewall filter tries."""
    net = FakeNet(compat(handshakes=("http", "tls"), haf=probes, haf_threshold=threshold))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(ack=False, close=RST)
                              if p.startswith(b"GET") else Answer()))
    net.answer_any_port(TARGET, answered)
    net.zmap(TARGET, 80)
    net.run()
    [r] = net.records
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None
    haf_syns = [s for _, s in net.sent if s.flags == SYN and s.dport != 80]
    assert len(haf_syns) == probes and len({s.sport for s in haf_syns}) == probes
    return r


def test_haf_flags_a_host_answering_every_port():
    r = haf_scan(answered=4)
    assert r.acking_firewall and r.handshake_num == 1 and r.fingerprint == "unknown"
    assert r.outcome == Outcome.ACKING_FIREWALL
    # The first parent packet after the probes' answers (here the ACK of the TLS probe).
    assert r.ack and not r.data and r.expected_r_to_lzr == ""


def test_haf_leaves_an_ordinary_host_alone():
    r = haf_scan(answered=0)
    assert not r.acking_firewall and r.handshake_num == 1 and r.expected_r_to_lzr == "data"


@pytest.mark.parametrize("answered, flagged", [(2, False), (3, True)])
def test_haf_threshold_below_one(answered, flagged):
    # 4 probes, F = 0.5: LZR's rule, more than int(0.5 * 4) = 2 answers.
    assert haf_scan(answered, probes=4, threshold=0.5).acking_firewall == flagged


def test_haf_threshold_one_needs_every_probe():
    assert not haf_scan(answered=3).acking_firewall


def test_answer_after_a_retransmission_from_probe_acked_is_accepted():
    # LZR's retransmission here moved the expected ack past the probe twice (§7.3-7).
    answers = iter([Answer(), None])
    net = FakeNet(compat())
    net.peer(TARGET, 80, Peer(answer=lambda p, c: next(answers, None)))
    net.zmap(TARGET, 80)
    net.run(until=5.5)
    assert [s.flags for _, s in net.sent] == [ACK, PSH | ACK]
    net.inject(Segment(4, TARGET, SCANNER, 80, 40000, 1001, 2001 + len(GET), PSH | ACK, 29200,
                       60, HTTP_OK), 0.1)
    net.run()
    [r] = net.records
    assert r.fingerprint == "http" and r.expected_r_to_lzr == "data"


@pytest.mark.parametrize("compat_mode", [True, False])
def test_haf_answers_after_the_last_parent_packet_still_flag(compat_mode):
    # The firewall SYN-ACKs every port and ACKs nothing: the parent's SYN-ACKs arrive no later
    # than the probes' answers, and nothing of the parent's comes after them.
    net = FakeNet(settings(compat=compat_mode, handshakes=("http", "tls"), haf=3))
    net.peer(TARGET, 80, Peer(answer=None))
    net.answer_any_port(TARGET)
    net.zmap(TARGET, 80)
    net.run()
    [r] = net.records
    assert r.acking_firewall and not r.data and net.engine.in_flight == 0
    assert r.outcome == Outcome.ACKING_FIREWALL

