"""Identification beyond LZR: going on after unknown data, parallel handshakes on
fresh ports, per-host limits, provenance; and --compat keeping LZR's behaviour."""
import pytest

from lzr.config import EngineConfig
from lzr.engine.transitions import LINGERING
from lzr.handshakes import get
from lzr.wire.segment import RST, SYN

from .peers import TARGET, Answer, FakeNet, Peer, settings, silent_acker

RDP_PROBE = get("rdp").probe("1.2.3.4")
RDP_CONFIRM = bytes.fromhex("030000130ed0feca1234000200080001000000")
SHORT_UNKNOWN = b"\x03\x00\x00\x07\x02\xf0\x80"


def rdp_server(close_after_unknown: bool = False):
    """Answers its own probe with an RDP connection confirm, anything else with a short
    message no rule knows (then closes, if asked)."""
    def answer(payload, conn):
        if payload == RDP_PROBE:
            return Answer(data=RDP_CONFIRM)
        if payload:
            return Answer(data=SHORT_UNKNOWN, close=RST if close_after_unknown else 0)
        return None
    return answer


def scan(cfg: EngineConfig, answer, port: int = 3389) -> FakeNet:
    net = FakeNet(cfg)
    net.peer(TARGET, port, Peer(answer=answer))
    net.zmap(TARGET, port)
    net.run()
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None
    return net


@pytest.mark.parametrize("parallel", [1, 4])
def test_unknown_answer_to_http_then_own_probe_identifies(parallel):
    net = scan(settings(handshakes=("http", "rdp"), parallel=parallel), rdp_server())
    [r] = net.records
    assert r.fingerprint == "rdp" and r.data == RDP_CONFIRM and r.handshake_num == 1
    assert r.handshake == "rdp" and r.handshakes_tried == 2 and r.dport != 40000


@pytest.mark.parametrize("parallel", [1, 4])
def test_peer_closing_after_unknown_answer_is_identified_on_a_fresh_port(parallel):
    net = scan(settings(handshakes=("http", "rdp"), parallel=parallel),
               rdp_server(close_after_unknown=True))
    [r] = net.records
    assert r.fingerprint == "rdp" and r.handshake_num == 1
    rdp_syn = next(s for _, s in net.sent if s.flags == SYN)
    assert r.dport == rdp_syn.sport != 40000


def test_compat_stops_at_the_first_data():
    net = scan(settings(compat=True, handshakes=("http", "rdp")), rdp_server())
    [r] = net.records
    assert (r.fingerprint, r.data, r.handshake_num) == ("unknown", SHORT_UNKNOWN, 0)
    assert not [s for _, s in net.sent if s.flags == SYN]


def test_unknown_everywhere_keeps_the_first_data():
    answers = iter([b"\x00\x01first", b"\x00\x02second"])
    net = scan(settings(handshakes=("http", "tls", "wait"), parallel=1),
               lambda p, c: Answer(data=next(answers, b"")) if p else None)
    [r] = net.records
    assert (r.fingerprint, r.data, r.handshake_num) == ("unknown", b"\x00\x01first", 0)
    assert r.outcome == "unknown-data"
    assert r.handshakes_tried == 3 and r.handshake == "http"


def test_identified_handshake_cancels_the_others():
    def answer(payload, conn):
        return Answer(data=RDP_CONFIRM) if payload == RDP_PROBE else Answer()

    net = scan(settings(handshakes=("http", "tls", "rdp", "wait"), parallel=4), answer)
    [r] = net.records
    assert r.fingerprint == "rdp"
    ports = {s.sport for _, s in net.sent if s.flags == SYN and s.dport == 3389} | {40000}
    reset = {s.sport for _, s in net.sent if s.flags == RST}
    assert len(ports) == 4 and reset == ports      # the others are reset, not left open
    assert max(t for t, _ in net.sent) < 0.1        # no timer ran out


# Outside --compat a probe the target ACKed is not sent again, whatever -rn. Its answer waits
# 8 round trips (at least 0.25 s); then a first-round probe lingers, without its slot, until
# -t after its ACK. So the later rounds do not wait for the first round's -t: each takes the
# answer wait, a round trip for the SYN-ACK and one for the ACK of the probe.
@pytest.mark.parametrize("retries", [0, 1])
@pytest.mark.parametrize("parallel, later_rounds", [(4, 2), (1, 11)])
def test_parallel_handshakes_cost_one_timeout_and_walk_meanwhile(retries, parallel, later_rounds):
    names = ("http", "tls", "rdp", "smb", "ssh", "mssql", "mongodb", "redis", "dns", "pptp",
             "oracle", "mqtt")
    net = FakeNet(settings(handshakes=names, parallel=parallel, retries=retries, haf=0))
    net.peer(TARGET, 9999, Peer(answer=silent_acker))
    net.syn(TARGET, 9999)
    net.run()
    [r] = net.records
    assert r.handshakes_tried == 12 and r.expected_r_to_lzr == "data"
    # With more than one at once, the rest of the first round starts at the SYN-ACK.
    opened = net.rtt if parallel > 1 else 0.0
    round_time = 0.25 + 2 * net.rtt
    resets = sorted(t for t, s in net.sent if s.flags == RST)
    walked, first_round = resets[:-parallel], resets[-parallel:]
    assert max(walked) == pytest.approx(opened + (1 + later_rounds) * round_time)
    assert first_round[-1] == max(t for t, _ in net.sent) == pytest.approx(opened + 2 * net.rtt + 5.0)


def test_later_answer_waits_follow_the_round_trip():
    net = FakeNet(settings(handshakes=("http", "tls"), parallel=1), rtt=0.2)
    net.peer(TARGET, 9999, Peer(answer=silent_acker))
    net.syn(TARGET, 9999)
    net.run()
    resets = [t for t, s in net.sent if s.flags == RST and s.dport == 9999]
    # http: ACKed at 0.4 (0.2 s after its probe left), 8 x 0.2 s -> the 2 s wait, then it
    # lingers until -t after its ACK; tls: SYN at 2.4, ACKed at 2.8, its 2 s wait.
    assert resets == [pytest.approx(4.8), pytest.approx(5.4)]


def test_every_handshake_gets_its_own_fresh_port():
    net = FakeNet(settings(handshakes=("http",) * 8, parallel=4))
    net.peer(TARGET, 80, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
    net.syn(TARGET, 80)
    net.run()
    ports = [s.sport for _, s in net.sent if s.flags == SYN and s.dport == 80]
    assert len(ports) == 8 == len(set(ports))


def holding_slots(net: FakeNet, addr: int) -> int:
    """Extra connections (beyond each target's first) to `addr` that hold a slot of the
    per-host cap: live, and not lingering for an answer."""
    return sum(conn.hs > 0 and conn.state != LINGERING
               for target in list(net.engine._targets.values()) if target.addr == addr
               for conn in target.live_conns())


def live_per_host(net: FakeNet, addr: int, extra_only: bool = False) -> int:
    """Live connections of ours to `addr`; with `extra_only`, not counting each target's
    first (its first SYN), which the cap leaves out."""
    seen = {(s.dport, s.sport) for _, s in net.sent if s.daddr == addr}
    if extra_only:
        first = {}
        for _, s in net.sent:
            if s.daddr == addr and s.flags == SYN:
                first.setdefault(s.dport, s.sport)
        seen -= set(first.items())
    return sum(net.engine.owns(addr, dport, sport) for dport, sport in seen)


@pytest.mark.parametrize("limit", [1, 3, 4])
def test_per_host_concurrency_never_exceeds_the_cap(limit):
    net = FakeNet(settings(handshakes=("wait", "http", "tls"), parallel=4,
                               per_host_limit=limit))
    for port in range(1000, 1010):
        net.peer(TARGET, port, Peer(answer=silent_acker if port % 2 else None))
        net.syn(TARGET, port)
    peak, step = 0, 0.0
    while net.engine.in_flight:
        step += 0.05
        net.run(until=step)
        peak = max(peak, holding_slots(net, TARGET))
    assert peak == limit
    assert len(net.records) == 10 and all(r.handshakes_tried == 3 for r in net.records)


def test_compat_has_no_per_host_cap():
    net = FakeNet(settings(compat=True, per_host_limit=1))
    for port in range(1000, 1010):
        net.syn(TARGET, port)
    assert live_per_host(net, TARGET) == 10


def test_provenance_times_identification():
    net = FakeNet(settings(handshakes=("http", "rdp"), parallel=1, extended=True))
    net.peer(TARGET, 3389, Peer(answer=rdp_server()))
    net.now = 100.0
    net.zmap(TARGET, 3389)
    net.run()
    [r] = net.records
    # http's unknown answer (1 rtt), the RDP SYN/SYN-ACK (1 rtt), its answer (1 rtt).
    assert r.identify_seconds == pytest.approx(3 * net.rtt)
    assert r.timestamp_ns == round((100.0 + 3 * net.rtt) * 1e9)


@pytest.mark.parametrize("zmap_input", [True, False])
def test_first_connections_are_neither_delayed_nor_counted(zmap_input):
    net = FakeNet(settings(handshakes=("http", "tls"), parallel=2, per_host_limit=1))
    for port in range(1000, 1004):
        net.peer(TARGET, port, Peer(answer=silent_acker))
        if zmap_input:
            net.zmap(TARGET, port, lport=40000 + port)
        else:
            net.syn(TARGET, port)
    net.run(until=0.05)
    probes = [s for _, s in net.sent if s.payload]
    syns = [s for _, s in net.sent if s.flags == SYN and s.dport < 2000]   # not the -haf probes
    # Every target's first connection goes on; one extra (tls) connection holds the slot.
    assert len(probes) == 5 and len(syns) == (1 if zmap_input else 5)


def test_a_busy_address_does_not_hold_back_a_new_targets_first_syn():
    names = ("http", "tls", "rdp", "smb", "ssh", "mssql", "mysql", "redis", "dns")
    net = FakeNet(settings(handshakes=names, parallel=4, per_host_limit=4))
    net.peer(TARGET, 1000, Peer(answer=silent_acker))
    net.peer(TARGET, 2000, Peer(answer=lambda p, c: Answer(data=b"HTTP/1.1 200 OK\r\n\r\n")))
    net.syn(TARGET, 1000)
    net.syn(TARGET, 2000)
    net.run()
    first_syn_2000 = min(t for t, s in net.sent if s.flags == SYN and s.dport == 2000)
    named = next(r for r in net.records if r.sport == 2000)
    assert first_syn_2000 == 0.0 and named.fingerprint == "http"


def test_one_host_all_ports_scan_is_not_throttled_by_the_cap():
    net = FakeNet(settings(handshakes=("http",), per_host_limit=1))
    for port in range(1, 101):
        net.syn(TARGET, port)
    assert len(net.sends(SYN)) == 100 == live_per_host(net, TARGET)



def test_targets_of_one_address_take_freed_slots_in_turn():
    # Port 1000 holds the address's three slots with silent handshakes (5 s each: an ACKed
    # probe waits -t once); port 2000 queues for one. The first slot freed must go to port
    # 2000, not back to port 1000.
    names = ("http", "tls", "rdp", "smb", "ssh", "mssql", "mysql", "redis", "dns")
    net = FakeNet(settings(handshakes=names, parallel=4, per_host_limit=3))
    net.peer(TARGET, 1000, Peer(answer=silent_acker))
    net.peer(TARGET, 2000, Peer(answer=silent_acker))
    net.zmap(TARGET, 1000, lport=40000)
    net.zmap(TARGET, 2000, lport=40001)
    net.run(until=15.0)
    first_syn_2000 = min(t for t, s in net.sent if s.flags == SYN and s.dport == 2000)
    assert first_syn_2000 == pytest.approx(5.0, abs=0.1)


def extra_syn_times(net: FakeNet) -> list[float]:
    """When each SYN beyond a target's first went out."""
    first, times = set(), []
    for t, s in net.sends(SYN):
        if s.dport in first:
            times.append(t)
        first.add(s.dport)
    return times


@pytest.mark.parametrize("rate", [10.0, 0.0])
def test_host_rate_caps_how_fast_extra_connections_start(rate):
    # Twenty targets of one address each want one extra connection at once; every peer resets
    # at once, so only the rate can hold them back: a burst of 4 (the cap), then 10 a second.
    net = FakeNet(settings(handshakes=("http", "tls"), parallel=2, per_host_limit=4,
                               host_rate=rate))
    for port in range(1000, 1020):
        net.peer(TARGET, port, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
        net.syn(TARGET, port)
    net.run()
    times = extra_syn_times(net)
    assert len(times) == 20 and len(net.records) == 20
    if rate:
        # They want it once their ports answered, one round trip in.
        assert times[:4] == [net.rtt] * 4
        assert all(t >= net.rtt + (k - 3) / rate - 1e-9 for k, t in enumerate(times))
        assert times[-1] <= net.rtt + 17 / rate      # woken at most one spacing late
    else:
        assert times[-1] < 0.1      # only the cap: each slot is free again after one rtt
    assert not net.engine._hosts and net.engine.next_deadline() is None


def test_host_rate_allowance_outlives_a_quiet_moment():
    # The address has nothing in flight between the two bursts, but its allowance is not
    # whole again yet: the second burst is still paced.
    net = FakeNet(settings(handshakes=("http", "tls"), parallel=2, per_host_limit=4,
                               host_rate=10))
    for port in range(1000, 1004):
        net.peer(TARGET, port, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
        net.syn(TARGET, port)
    net.run(until=0.05)
    assert not net.engine.owns(TARGET, 1000, net.sends(SYN)[-1][1].sport)
    for port in range(1004, 1006):
        net.peer(TARGET, port, Peer(answer=lambda p, c: Answer(ack=False, close=RST)))
        net.syn(TARGET, port)
    net.run()
    second, third = extra_syn_times(net)[4:]
    assert 0.1 <= second <= 0.2 and third - second == pytest.approx(0.1)


def by_probe(*answers):
    """A server answering each probe that starts with a key by that key's reply, anything
    else by the last reply."""
    def answer(payload, conn):
        for start, data in answers:
            if payload.startswith(start):
                return Answer(data=data)
        return Answer(data=answers[-1][1])
    return answer


REDIS_ERR = b"-ERR wrong number of arguments for 'get' command\r\n"   # pop3's rule claims it
ENIP_REPLY = bytes.fromhex("630000000000000000000000") + get("enip").probe("")[12:20] + bytes(4)
SSL3_LOOKALIKE = bytes.fromhex("16030000750100000100000087d679df3bd5e58400000000")


@pytest.mark.parametrize("names, answer, label", [
    (("http", "redis"), by_probe((b"*1", b"+PONG\r\n"), (b"", REDIS_ERR)), "redis"),
    (("http", "memcached_ascii"), by_probe((b"stats", b"STAT pid 1\r\nEND\r\n"),
                                           (b"", b"ERROR\r\n")), "memcached_ascii"),
    (("tls", "enip"), by_probe((b"\x63\x00", ENIP_REPLY), (b"", SSL3_LOOKALIKE)), "enip"),
])
@pytest.mark.parametrize("parallel", [1, 4])
def test_an_answer_to_another_protocols_probe_does_not_end_the_target(names, answer, label,
                                                                        parallel):
    net = scan(settings(handshakes=names, parallel=parallel), answer)
    [r] = net.records
    assert (r.fingerprint, r.handshake_num) == (label, 1)


def test_a_provisional_label_is_kept_when_nothing_is_sure():
    # Unknown data first, then a reply only another protocol's rule claims: the record is
    # that reply with its label, once every handshake was tried.
    answers = iter([b"\x00\x01?", REDIS_ERR, b"\x00\x02?"])
    net = scan(settings(handshakes=("tls", "http", "rdp"), priority=("pop3",), parallel=1),
               lambda p, c: Answer(data=next(answers)) if p else None)
    [r] = net.records
    assert (r.fingerprint, r.data, r.handshake_num, r.handshakes_tried) == (
        "pop3", REDIS_ERR, 1, 3)


IMAP_BANNER, POP3_BANNER = b"* OK IMAP4rev1 ready\r\n", b"+OK ready\r\n"


@pytest.mark.parametrize("names, banner, label, tried", [
    (("wait", "http"), IMAP_BANNER, "imap", 1),
    (("http", "rdp"), IMAP_BANNER, "imap", 1),
    (("wait", "http"), POP3_BANNER, "pop3", 1),
    (("http", "rdp"), POP3_BANNER, "pop3", 2),
])
def test_a_generic_label_is_sure_only_unprompted(names, banner, label, tried):
    # A distinctive banner names the service whatever probe drew it. The pop3 rule also
    # passes other protocols' error replies (Redis's `-ERR wrong number of arguments`), so
    # in answer to a probe it is only provisional: every handshake is tried, then it stands.
    net = scan(settings(handshakes=names, parallel=1), lambda p, c: Answer(data=banner))
    [r] = net.records
    assert (r.fingerprint, r.handshake_num, r.handshakes_tried) == (label, 0, tried)


def test_compat_ends_at_a_provisional_label():
    net = scan(settings(compat=True, handshakes=("http", "redis"), priority=("pop3",)),
               by_probe((b"*1", b"+PONG\r\n"), (b"", REDIS_ERR)))
    [r] = net.records
    assert (r.fingerprint, r.handshake_num) == ("pop3", 0)
