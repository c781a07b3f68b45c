"""The worker's sans-IO core, driven with a fake clock: no root, no sockets.

Stateless SYNs of list input are kept in the ledger, not the engine; a validated answer is the
only way into the engine; unanswered targets get LZR's "sa" record once their time is up and
the receiver's watermark says no answer can still be on its way; and a worker ends only when
nothing can arrive any more.
"""
import pytest

from lzr.config import ScanConfig
from lzr.engine import Engine
from lzr.runtime.validation import Validation
from lzr.runtime.worker_core import WorkerCore
from lzr.wire.segment import ACK, PSH, RST, SYN, Segment

SCANNER = 0x0A000001
T1, T2 = 0x0A000002, 0x0A000003
LIST = ScanConfig(send_syns=True, timeout=1.0, retries=1, rate=1000, workers=1)
RANGE = ScanConfig(targets=("10.0.0.0/24",), ports=(80,), timeout=1.0, retries=1)
VALIDATION = Validation(bytes(range(16)), 4, range(40000, 41000))


def make_core(cfg: ScanConfig = LIST, senders: int = 0, max_in_flight: int = 1000) -> WorkerCore:
    engine = Engine(cfg.engine_config(), cfg.version, SCANNER, range(50000, 50100), seed=1)
    validation = Validation(bytes(range(16)), cfg.version, range(40000, 41000))
    return WorkerCore(cfg, engine, validation, senders, max_in_flight, now=0.0)


def synack(addr: int, port: int, ack_offset: int = 1, isn_target: int = 5000) -> Segment:
    lport, isn = VALIDATION.expect(addr, port)
    return Segment(4, addr, SCANNER, port, lport, isn_target, (isn + ack_offset) & 0xFFFFFFFF,
                   SYN | ACK, 29200, 64, b"")


def refusal(addr: int, port: int) -> Segment:
    lport, isn = VALIDATION.expect(addr, port)
    return Segment(4, addr, SCANNER, port, lport, 0, (isn + 1) & 0xFFFFFFFF, RST | ACK, 0, 64, b"")


def syned(core: WorkerCore) -> list[tuple[int, int, int, int]]:
    out = []
    for batch in core.take_syns():
        out += zip(batch.addrs.tolist(), batch.ports.tolist(), batch.lports.tolist(),
                   batch.isns.tolist())
    return out


def test_list_targets_are_syned_statelessly_and_unanswered_ones_get_lzrs_record():
    core = make_core()
    core.targets([(T1, 80), (T2, 81)])
    core.advance(0.01)
    assert syned(core) == [(T1, 80, *VALIDATION.expect(T1, 80)), (T2, 81, *VALIDATION.expect(T2, 81))]
    assert core.engine.in_flight == 0 and core.unanswered_held == 2

    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    assert core.engine.in_flight == 1                  # state starts at the validated answer
    (probe,) = core.take_sends()
    assert (probe.daddr, probe.dport, probe.sport, probe.flags & ACK) == (
        T1, 80, VALIDATION.expect(T1, 80)[0], ACK)

    core.advance(1.01)                                 # the retransmission pass: T2 only
    assert [(addr, port) for addr, port, _, _ in syned(core)] == [(T2, 81)]

    core.segments([], watermark=2.0, now=2.02)         # T2's time is up at 2.01 ...
    core.advance(2.02)
    assert core.take_records() == []                   # ... but the capture is read to 2.0
    core.segments([], watermark=2.05, now=2.06)
    core.advance(2.06)
    (record,) = [r for r in core.take_records() if r.sport == 81]
    lport, isn = VALIDATION.expect(T2, 81)
    assert (record.saddr, record.dport, record.seqnum, record.counter, record.expected_r_to_lzr,
            record.syn, record.ack) == ("10.0.0.3", lport, isn, 1, "sa", True, False)
    assert record.timestamp_ns == round(1.01 * 1e9)    # its last SYN, as LZR stamps it
    assert core.unanswered_held == 0


def test_a_validated_rst_is_a_closed_record_without_engine_state_left():
    core = make_core()
    core.targets([(T1, 9)])
    core.advance(0.01)
    core.segments([(refusal(T1, 9), True)], watermark=0.02, now=0.03)
    (record,) = core.take_records()
    assert record.rst and record.sport == 9 and record.expected_r_to_lzr == ""
    assert core.engine.in_flight == 0
    core.segments([], watermark=5.0, now=5.0)
    core.advance(5.0)
    assert core.take_records() == []                   # no "sa" record besides


def test_forged_answers_create_no_state():
    core = make_core()
    core.targets([(T1, 80)])
    core.advance(0.01)
    # The receiver drops what fails validation; if a segment gets through unmarked, the
    # engine, which holds nothing for the target, ignores it too.
    core.segments([(synack(T1, 80, ack_offset=7), False), (refusal(T2, 80), False)],
                  watermark=0.02, now=0.03)
    assert core.engine.in_flight == 0 and core.answers == 0
    assert core.take_sends() == [] and core.take_records() == []


def test_a_second_syn_ack_after_the_target_ended_is_reset_not_scanned_again():
    core = make_core()
    core.targets([(T1, 80)])
    core.advance(0.01)
    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    (probe,) = core.take_sends()
    reply = Segment(4, T1, SCANNER, 80, probe.sport, 5001, (probe.seq + len(probe.payload)) & 0xFFFFFFFF,
                    PSH | ACK, 29200, 64, b"HTTP/1.1 200 OK\r\n\r\n")
    core.segments([(reply, False)], watermark=0.04, now=0.05)
    (record,) = core.take_records()
    assert record.fingerprint == "http" and core.engine.in_flight == 0
    core.take_sends()
    core.segments([(synack(T1, 80, isn_target=9000), True)], watermark=1.05, now=1.06)
    (reset,) = core.take_sends()
    assert reset.flags == RST and reset.seq == synack(T1, 80).ack
    assert core.engine.in_flight == 0 and core.answers == 1


def test_finished_before_waits_for_answered_targets_in_flight():
    core = make_core(RANGE, senders=1)
    core.segments([], watermark=3.0, now=3.0)
    assert core.finished_before == 3.0
    core.segments([(synack(T1, 80), True)], watermark=3.5, now=3.6)
    assert core.finished_before == 3.0                 # answered before 3.5, still in flight
    core.take_sends()
    lport = VALIDATION.expect(T1, 80)[0]
    reset = Segment(4, T1, SCANNER, 80, lport, 5001, 0, RST, 0, 64, b"")
    core.segments([(reset, False)], watermark=4.0, now=4.1)
    assert core.take_records()
    assert core.finished_before == 4.0


@pytest.mark.parametrize("cfg, waits", [
    (ScanConfig(), True), (ScanConfig(send_syns=True), False), (RANGE, False),
    (ScanConfig(send_syns=True, compat=True), True), (ScanConfig(compat=True), True),
])
def test_the_cooldown_is_waited_only_for_syn_acks_lzr_cannot_track(cfg, waits):
    assert cfg.waits_cooldown is waits
    core = make_core(cfg, senders=1)
    core.last_admit = 100.0
    core.input_ended()
    core.watermark = 1000.0
    assert core.finished(100.0 + cfg.cooldown - 0.1) is not waits
    assert core.finished(100.0 + cfg.cooldown)


def test_a_range_worker_ends_only_when_no_answer_to_the_last_syn_can_come():
    core = make_core(RANGE, senders=2)
    core.syns_done(5.0)
    assert not core.input_over
    core.syns_done(4.0)
    assert core.input_over and core.last_syn_at == 5.0
    core.segments([], watermark=5.9, now=6.0)
    assert not core.finished(6.0)                      # -t after the last SYN is 6.0
    core.segments([], watermark=6.0, now=6.01)
    assert core.finished(6.01)


def test_no_worker_ends_with_a_target_in_flight_waiting_or_held():
    core = make_core()
    core.targets([(T1, 80)])
    core.input_ended()
    assert not core.finished(100.0)                    # waiting for admission
    core.advance(0.01)
    core.take_syns()
    assert not core.finished(100.0)                    # its SYN is unanswered, not given up
    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    core.segments([], watermark=3.0, now=3.0)
    core.advance(3.0)
    assert core.engine.in_flight == 1 and not core.finished(3.0)


def test_after_ctrl_c_nothing_is_syned_or_retransmitted():
    core = make_core()
    core.targets([(T1, 80)])
    core.advance(0.01)
    core.take_syns()
    core.targets([(T2, 80)])
    core.stop(0.02)
    core.input_ended()
    core.advance(1.5)
    assert core.take_syns() == []
    assert core.taken == 2                             # the feeder's credit counts both
    core.segments([], watermark=2.1, now=2.1)
    core.advance(2.1)
    (record,) = core.take_records()
    assert record.expected_r_to_lzr == "sa" and record.counter == 0
    assert core.finished(2.1)


def test_ctrl_c_starts_no_handshake_and_a_second_one_ends_every_target_now():
    cfg = ScanConfig(send_syns=True, timeout=1.0, retries=1, rate=1000, workers=1,
                     handshakes=("http", "tls", "ssh"), parallel=1)
    core = make_core(cfg)
    core.targets([(T1, 80), (T2, 80)])
    core.advance(0.01)
    core.take_syns()
    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    core.take_sends()
    core.stop(0.05)
    for now in (1.1, 2.2):  # T1's probe is given up (-rt, then -t): no second handshake starts
        core.advance(now)
    sends = core.take_sends()
    assert all(s.flags != SYN for s in sends)
    assert core.engine.in_flight == 0
    (first,) = core.take_records()
    assert first.sport == 80 and first.saddr == "10.0.0.2" and first.outcome != "interrupted"

    core = make_core(cfg)
    core.targets([(T1, 80), (T2, 80)])
    core.advance(0.01)
    core.take_syns()
    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    core.interrupt(0.04)
    records = {r.saddr: r for r in core.take_records()}
    assert {r.outcome for r in records.values()} == {"interrupted"}
    assert records["10.0.0.3"].expected_r_to_lzr == "sa"      # SYNed, unanswered so far
    assert core.engine.in_flight == 0 and core.finished(0.04)


def test_new_targets_wait_at_the_cap_of_targets_in_flight():
    core = make_core(max_in_flight=1)
    core.targets([(T1, 80), (T2, 80)])
    core.advance(0.01)
    assert len(syned(core)) == 2                        # nothing in the engine yet
    core.segments([(synack(T1, 80), True)], watermark=0.02, now=0.03)
    core.targets([(0x0A000004, 80)])
    core.advance(0.04)
    assert syned(core) == [] and core.pending           # the engine is full
    assert core.hold_changed() is True and core.hold_changed() is None
    core.interrupt(0.05)
    assert core.hold_changed() is False


@pytest.mark.parametrize("compat, wait, last_wait", [(False, 1.0, 5.0), (True, 5.0, 5.0)])
def test_an_unanswered_syn_is_sent_again_after_rt_and_given_up_t_later(compat, wait, last_wait):
    # As the engine's SYN timer: -rt, then -t after the retransmission; LZR's -t twice.
    core = make_core(ScanConfig(send_syns=True, timeout=5.0, retransmit_after=1.0, retries=1,
                                rate=1000, workers=1, compat=compat))
    core.targets([(T1, 80)])
    core.advance(0.01)
    assert len(syned(core)) == 1
    resent_at, given_up_at = 0.01 + wait, 0.01 + wait + last_wait
    core.advance(resent_at - 0.001)
    assert syned(core) == []
    core.advance(resent_at)
    assert [(addr, port) for addr, port, _, _ in syned(core)] == [(T1, 80)]
    core.segments([], watermark=given_up_at - 0.001, now=given_up_at - 0.001)
    core.advance(given_up_at - 0.001)
    assert core.take_records() == []
    core.segments([], watermark=given_up_at, now=given_up_at)
    core.advance(given_up_at)
    (record,) = core.take_records()
    assert record.expected_r_to_lzr == "sa" and record.timestamp_ns == round(resent_at * 1e9)
