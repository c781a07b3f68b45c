"""When a worker's scan is over: input ended, nothing waiting or in flight, and the cooldown
only where a late SYN-ACK could still come that lzr cannot track (ZMap's, or --compat)."""
from types import SimpleNamespace

import pytest

from lzr.config import ScanConfig
from lzr.runtime.worker import Worker

ZMAP_INPUT = ScanConfig()
OWN_SYNS = ScanConfig(send_syns=True)
RANGE = ScanConfig(targets=("192.0.2.0/24",), ports=(80,))


def worker_state(cfg: ScanConfig, in_flight: int = 0, pending: int = 0, stopped: bool = False):
    return SimpleNamespace(cfg=cfg, input_over=True, pending=[None] * pending, stopped=stopped,
                           engine=SimpleNamespace(in_flight=in_flight), last_admit=100.0)


@pytest.mark.parametrize("cfg, waits", [
    (ZMAP_INPUT, True), (OWN_SYNS, False), (RANGE, False),
    (ScanConfig(send_syns=True, compat=True), True), (ScanConfig(compat=True), True),
])
def test_the_cooldown_is_waited_only_for_syn_acks_lzr_cannot_track(cfg, waits):
    assert cfg.waits_cooldown is waits
    assert Worker._finished(worker_state(cfg), 100.0 + cfg.cooldown - 0.1) is not waits
    assert Worker._finished(worker_state(cfg), 100.0 + cfg.cooldown)


@pytest.mark.parametrize("cfg", [ZMAP_INPUT, OWN_SYNS])
def test_no_worker_ends_with_a_target_in_flight_or_waiting(cfg):
    late = 100.0 + cfg.cooldown + 60
    assert not Worker._finished(worker_state(cfg, in_flight=1), late)
    assert not Worker._finished(worker_state(cfg, pending=1), late)
    unfinished_input = worker_state(cfg)
    unfinished_input.input_over = False
    assert not Worker._finished(unfinished_input, late)


def test_after_ctrl_c_there_is_no_cooldown():
    assert Worker._finished(worker_state(ZMAP_INPUT, stopped=True), 100.0)
