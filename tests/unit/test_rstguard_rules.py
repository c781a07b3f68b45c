"""Rule text of the RST guard and the flow announcement frames: pure functions, no root."""
import os

import pytest

from lzr.runtime import flow_announce, frames, local_ipc, process_identity
from lzr.runtime.rstguard import RstGuard, RstGuardError, guard, rules
from lzr.runtime.rstguard.nfqueue import Verdicts, rst_flow_key
from waiting import wait_until

COMMENT = "lzr-rstguard pid=1234 start=5678"


def test_lzr_rule_is_the_makefile_rule():
    assert " ".join(rules.lzr_rule("192.0.2.7")) == \
        "iptables -A OUTPUT -p tcp --tcp-flags RST RST -s 192.0.2.7 -j DROP"
    assert " ".join(rules.lzr_rule("2001:db8::7")) == \
        "ip6tables -A OUTPUT -p tcp --tcp-flags RST RST -s 2001:db8::7 -j DROP"


def test_source_ip_rule_is_lzr_rule_plus_comment():
    spec = rules.rule_spec("source-ip", "192.0.2.7", COMMENT)
    assert rules.add_command(4, spec) == [
        "iptables", "-w", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST",
        "-s", "192.0.2.7", "-m", "comment", "--comment", COMMENT, "-j", "DROP"]
    without_comment = [token for token in spec if token not in ("-m", "comment", "--comment", COMMENT)]
    assert ["iptables", "-A", "OUTPUT", *without_comment] == rules.lzr_rule("192.0.2.7")


def test_source_ip_rule_ipv6_uses_ip6tables():
    spec = rules.rule_spec("source-ip", "2001:db8::7", COMMENT)
    assert rules.add_command(6, spec)[:4] == ["ip6tables", "-w", "-A", "OUTPUT"]
    assert rules.delete_command(6, spec)[:4] == ["ip6tables", "-w", "-D", "OUTPUT"]


def test_source_ports_rule_limits_the_local_ports():
    spec = rules.rule_spec("source-ports", "192.0.2.7", COMMENT, range(40000, 50000))
    assert spec == ["-p", "tcp", "--tcp-flags", "RST", "RST", "-s", "192.0.2.7",
                    "--sport", "40000:49999", "-m", "comment", "--comment", COMMENT, "-j", "DROP"]


def test_nfqueue_rule_queues_with_bypass():
    spec = rules.rule_spec("nfqueue", "192.0.2.7", COMMENT, nfqueue_num=12)
    assert spec == ["-p", "tcp", "--tcp-flags", "RST", "RST", "-s", "192.0.2.7",
                    "-m", "comment", "--comment", COMMENT,
                    "-j", "NFQUEUE", "--queue-num", "12", "--queue-bypass"]
    limited = rules.rule_spec("nfqueue", "192.0.2.7", COMMENT, range(1000, 1001), nfqueue_num=12)
    assert limited[7:9] == ["--sport", "1000:1000"]


@pytest.mark.parametrize("ports", [None, range(0), range(10, 20, 2), range(0, 10), range(65000, 65537)])
def test_bad_port_ranges_are_refused(ports):
    with pytest.raises(ValueError):
        rules.rule_spec("source-ports", "192.0.2.7", COMMENT, ports)


def test_bad_mode_and_address_are_refused():
    with pytest.raises(ValueError):
        rules.rule_spec("everything", "192.0.2.7", COMMENT)
    with pytest.raises(ValueError):
        rules.rule_spec("source-ip", "192.0.2.300", COMMENT)
    with pytest.raises(RstGuardError, match="not an IPv6 address"):
        RstGuard("source-ip", "192.0.2.7", 6)
    with pytest.raises(RstGuardError, match="local port range"):
        RstGuard("source-ports", "192.0.2.7", 4)


# `iptables -S OUTPUT` as iptables 1.8 (nf_tables) prints rules added by the guard.
LISTING = """-P OUTPUT ACCEPT
-A OUTPUT -s 192.0.2.7/32 -p tcp -m tcp --tcp-flags RST RST -m comment --comment "lzr-rstguard pid=111 start=10" -j DROP
-A OUTPUT -s 192.0.2.7/32 -p tcp -m tcp --sport 40000:49999 --tcp-flags RST RST -m comment --comment "lzr-rstguard pid=222 start=20" -j DROP
-A OUTPUT -s 192.0.2.7/32 -p tcp -m comment --comment "someone else's rule" -j DROP
-A OUTPUT -s 192.0.2.7/32 -p tcp -m tcp --tcp-flags RST RST -j DROP
"""


def test_parse_comment():
    lines = LISTING.splitlines()
    assert rules.parse_comment(lines[1]) == (111, 10)
    assert rules.parse_comment(lines[2]) == (222, 20)
    assert rules.parse_comment(lines[3]) is None
    assert rules.parse_comment(lines[4]) is None


def test_only_rules_of_dead_runs_are_stale():
    alive = {(222, 20)}
    commands = rules.stale_rule_deletions(4, LISTING, lambda pid, start: (pid, start) in alive)
    assert commands == [["iptables", "-w", "-D", "OUTPUT", "-s", "192.0.2.7/32", "-p", "tcp", "-m", "tcp",
                         "--tcp-flags", "RST", "RST", "-m", "comment", "--comment",
                         "lzr-rstguard pid=111 start=10", "-j", "DROP"]]


def test_reused_pid_is_not_the_same_run():
    pid, start = process_identity.own_identity()
    assert pid == os.getpid() and start == process_identity.start_time(pid)
    assert process_identity.is_alive(pid, start) and process_identity.is_alive(pid)
    assert not process_identity.is_alive(pid, start + 1)


def test_a_zombie_or_missing_process_is_not_alive():
    child = os.fork()
    if child == 0:
        os._exit(0)
    try:
        assert wait_until(lambda: not process_identity.is_alive(child), timeout=10), \
            "the child exited, and a zombie must not count as alive"
        assert process_identity.start_time(child) is not None, "a zombie still has its /proc entry"
    finally:
        os.waitpid(child, 0)
    assert process_identity.start_time(child) is None and not process_identity.is_alive(child)


def test_rst_flow_key_reads_target_and_ports():
    ipv4 = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 7, 198, 51, 100, 9]) + \
        (40001).to_bytes(2, "big") + (8080).to_bytes(2, "big") + bytes(8) + b"\x50\x14" + bytes(6)
    assert rst_flow_key(ipv4, 4) == (0xC6336409, 8080, 40001)
    ipv6 = bytes([0x60, 0, 0, 0, 0, 20, 6, 64]) + bytes(15) + b"\x01" + bytes(15) + b"\x02" + \
        (40001).to_bytes(2, "big") + (443).to_bytes(2, "big") + bytes(8) + b"\x50\x14" + bytes(6)
    assert rst_flow_key(ipv6, 6) == (2, 443, 40001)
    udp = ipv4[:9] + b"\x11" + ipv4[10:]
    assert rst_flow_key(udp, 4) is None
    assert rst_flow_key(ipv4[:22], 4) is None
    assert rst_flow_key(ipv4, 6) is None and rst_flow_key(ipv6, 4) is None
    assert rst_flow_key(b"", 4) is None


# Flow announcement frames


def test_flow_frames_round_trip():
    flows = [(frames.FLOW_OPEN, 0xC0000207, 8080, 40001), (frames.FLOW_CLOSE, 1, 443, 40002),
             (frames.FLOW_OPEN, (1 << 127) | 5, 1, 2)]
    assert frames.unpack_flows(frames.pack_flows(flows)) == flows


@pytest.mark.parametrize("frame", [
    b"",
    frames.pack_flows([])[:1],                                           # short header
    bytes([frames.FRAME_VERSION + 1]) + frames.pack_flows([])[1:],       # unknown version
    frames.pack_targets([(1, 2)]),                                       # another kind
    frames.pack_flows([(frames.FLOW_OPEN, 7, 1, 2)])[:-1],               # count beyond the body
    frames.pack_flows([(frames.FLOW_OPEN, 7, 1, 2)])[:6] + b"\x07" + bytes(20),  # bad operation
])
def test_malformed_flow_frames_are_refused(frame):
    with pytest.raises(frames.FrameError):
        frames.unpack_flows(frame)


def test_flow_table_opens_and_closes():
    table = flow_announce.FlowTable()
    opened = table.apply(frames.pack_flows([(frames.FLOW_OPEN, 7, 80, 40001),
                                                        (frames.FLOW_OPEN, 7, 80, 40002)]))
    assert opened == [(7, 80, 40001), (7, 80, 40002)]
    assert table.owns(7, 80, 40001) and table.owns(7, 80, 40002)
    assert not table.owns(7, 81, 40001) and not table.owns(8, 80, 40001)
    assert table.apply(frames.pack_flows([(frames.FLOW_CLOSE, 7, 80, 40001)])) == []
    assert not table.owns(7, 80, 40001) and table.owns(7, 80, 40002)
    assert len(table) == 1


def test_announcer_batches_frames_over_zeromq():
    import zmq
    context = zmq.Context()
    with local_ipc.private_directory() as directory:
        endpoint = f"ipc://{directory}/announce"
        receiver = context.socket(zmq.PULL)
        local_ipc.bind(receiver, endpoint)
        try:
            with flow_announce.FlowAnnouncer(endpoint, context=context, batch=2) as announcer:
                announcer.opened(7, 80, 40001)
                announcer.opened(7, 80, 40002)   # fills the batch: one frame goes out
                announcer.closed(7, 80, 40001)   # sent by close()
            assert receiver.poll(5000)
            assert frames.unpack_flows(receiver.recv()) == [(1, 7, 80, 40001), (1, 7, 80, 40002)]
            assert receiver.poll(5000)
            assert frames.unpack_flows(receiver.recv()) == [(0, 7, 80, 40001)]
        finally:
            receiver.close(linger=0)
            context.term()


def test_missing_iptables_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(guard.shutil, "which", lambda name: None)
    rst_guard = RstGuard("source-ip", "192.0.2.7", 4)
    with pytest.raises(RstGuardError, match=r"iptables not found; install it"):
        rst_guard.install()
    assert not rst_guard.installed
    rst_guard.remove()  # nothing to remove: still fine


# Verdicts of the nfqueue mode, with a fake clock


class FakePacket:
    def __init__(self) -> None:
        self.verdict = None

    def drop(self) -> None:
        assert self.verdict is None
        self.verdict = "drop"

    def accept(self) -> None:
        assert self.verdict is None
        self.verdict = "accept"


def test_owned_rst_is_dropped_at_once_and_others_wait():
    owned = {(7, 80, 40001)}
    verdicts = Verdicts(lambda *key: key in owned, hold_seconds=1.0)
    mine, other, unparsable = FakePacket(), FakePacket(), FakePacket()
    verdicts.on_rst((7, 80, 40001), mine, now=10.0)
    verdicts.on_rst((7, 80, 40002), other, now=10.0)
    verdicts.on_rst(None, unparsable, now=10.0)
    assert (mine.verdict, other.verdict, unparsable.verdict) == ("drop", None, "accept")
    assert verdicts.next_deadline == 11.0
    verdicts.expire(10.9)
    assert other.verdict is None
    verdicts.expire(11.0)
    assert other.verdict == "accept"
    assert (verdicts.dropped, verdicts.accepted, verdicts.next_deadline) == (1, 2, None)


def test_announcement_drops_held_rsts_of_its_flow_only():
    verdicts = Verdicts(lambda *key: False, hold_seconds=1.0)
    first, second, other = FakePacket(), FakePacket(), FakePacket()
    verdicts.on_rst((7, 80, 40001), first, now=10.0)
    verdicts.on_rst((7, 80, 40001), second, now=10.5)
    verdicts.on_rst((7, 80, 40002), other, now=10.5)
    verdicts.flows_opened([(7, 80, 40001), (9, 9, 9)])
    assert (first.verdict, second.verdict, other.verdict) == ("drop", "drop", None)
    verdicts.expire(20.0)
    assert other.verdict == "accept"
    assert (verdicts.dropped, verdicts.accepted) == (2, 1)


def test_flow_owned_by_the_deadline_is_dropped_then():
    owned = set()
    verdicts = Verdicts(lambda *key: key in owned, hold_seconds=1.0)
    packet = FakePacket()
    verdicts.on_rst((7, 80, 40001), packet, now=10.0)
    owned.add((7, 80, 40001))
    verdicts.expire(11.0)
    assert packet.verdict == "drop"


def test_failing_owns_and_no_hold_let_rsts_through():
    def broken(*key):
        raise KeyError(key)

    packet = FakePacket()
    Verdicts(broken, hold_seconds=0).on_rst((7, 80, 40001), packet, now=0.0)
    assert packet.verdict == "accept"


def test_release_all_lets_held_rsts_through():
    verdicts = Verdicts(lambda *key: False, hold_seconds=1.0)
    held, announced = FakePacket(), FakePacket()
    verdicts.on_rst((7, 80, 40001), held, now=0.0)
    verdicts.on_rst((7, 80, 40002), announced, now=0.0)
    verdicts.flows_opened([(7, 80, 40002)])
    verdicts.release_all()
    assert (held.verdict, announced.verdict) == ("accept", "drop")
    assert verdicts.next_deadline is None
