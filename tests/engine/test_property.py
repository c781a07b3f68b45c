"""100,000 targets with randomly drawn peer behaviours: every one ends with exactly one final
record (under -forceAllHandshakes: one per handshake that returned data, or one if none did),
and nothing is left in the engine afterwards."""
import random
from collections import defaultdict

import pytest

from lzr.config import EngineConfig
from lzr.wire.segment import ACK, FIN, PSH, RST, SYN, Segment

from .peers import SCANNER, Answer, FakeNet, Peer, reply, settings, silent_acker

TARGETS = 100_000
TLS_HELLO = bytes.fromhex("160303005d020000")


def tls_only(payload, conn):
    return Answer(data=TLS_HELLO) if payload.startswith(b"\x16\x03") else Answer(close=RST)


ANSWERS = [
    reply(b"HTTP/1.1 200 OK\r\n\r\n"),
    reply(b"\x00\x07?"),                          # unknown to every rule
    silent_acker,
    None,
    lambda p, c: Answer(ack=False, close=RST),
    lambda p, c: Answer(close=FIN),
    lambda p, c: Answer(data=b"\x01", close=FIN),
    tls_only,
]
SYNS = ["synack"] * 6 + ["none", "rst", "zero"]
FLAGS = [ACK, RST, RST | ACK, FIN | ACK, PSH | ACK, SYN | ACK, 0]

CONFIGS = [
    settings(compat=True, handshakes=("http", "tls")),
    settings(handshakes=("wait", "http", "tls"), parallel=2, per_host_limit=3),
    settings(compat=True, handshakes=("http", "tls", "wait"), force_all=True),
    settings(handshakes=("http", "tls", "wait", "http"), haf=2, retries=2),
    settings(handshakes=("http", "tls", "wait"), force_all=True, parallel=3,
                 per_host_limit=2),
]


def scan(cfg: EngineConfig, count: int, seed: int) -> tuple[FakeNet, dict]:
    rng = random.Random(seed)
    net = FakeNet(cfg, seed=seed)
    for i in range(count):
        # A few hosts share an address (per-host limits), a few answer every port (HAF).
        addr = 0x0A000000 + (i // 3 if i % 5 == 0 else i + count)
        port = 1 + i % 60000
        net.peer(addr, port, Peer(syn=rng.choice(SYNS), answer=rng.choice(ANSWERS),
                                  isn=rng.getrandbits(32)))
        if rng.random() < 0.02:
            net.answer_any_port(addr)
        if rng.random() < 0.5:
            net.zmap(addr, port, lport=rng.randrange(1024, 65536), isn_s=rng.getrandbits(32))
        else:
            net.syn(addr, port)
        if rng.random() < 0.1:      # junk from the target: random numbers and flags
            net.inject(Segment(4, addr, SCANNER, port, rng.randrange(65536),
                               rng.getrandbits(32), rng.getrandbits(32), rng.choice(FLAGS),
                               rng.randrange(65536), 64, rng.choice([b"", b"junk"])),
                       rng.random() * 3)
        net.now += 0.0001
    net.run()
    by_target = defaultdict(list)
    for r in net.records:
        by_target[r.saddr, r.sport].append(r)
    return net, by_target


@pytest.mark.parametrize("cfg", CONFIGS, ids=["compat", "parallel", "force", "haf", "parallel-force"])
def test_every_target_ends_with_its_records(cfg):
    net, by_target = scan(cfg, TARGETS // len(CONFIGS), seed=CONFIGS.index(cfg))
    assert len(by_target) == TARGETS // len(CONFIGS)
    for records in by_target.values():
        if cfg.force_all:
            with_data = [r for r in records if r.data]
            assert len({r.handshake_num for r in with_data}) == len(with_data)
            assert len(records) == (len(with_data) or 1)
        else:
            assert len(records) == 1
        assert all(r.outcome is not None for r in records)
    engine = net.engine
    assert engine.in_flight == 0 and engine.next_deadline() is None
    assert not engine._targets
    assert not engine._hosts and not engine._firewall
