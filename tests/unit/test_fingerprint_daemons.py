"""Every rule against real daemons' answers to every probe (tests/data/answers): outside
--compat no answer gives a daemon a wrong label for sure, and each is named by its own probe.

The answers were captured from Debian's daemons (the file says which) by sending each the
probe of every handshake of `-handshakes all`. An answer may carry a wrong label only
provisionally (fingerprint.sure_labels): the engine then goes on to the other handshakes.
"""
import json
from pathlib import Path

import pytest

from lzr.fingerprint import UNKNOWN, label_of, labels, sure_labels
from lzr.handshakes import DEFAULT_ORDER, REGISTRY

ANSWERS = Path(__file__).resolve().parents[1] / "data" / "answers" / "debian-daemons.json"
DAEMONS = json.loads(ANSWERS.read_text())["daemons"]
# memcached speaks both of its protocols: either label is right.
SAME_SERVICE = {"memcached_ascii": {"memcached_ascii", "memcached_binary"},
                "memcached_binary": {"memcached_ascii", "memcached_binary"}}


def cases():
    for daemon, answers in sorted(DAEMONS.items()):
        for answer in answers:
            for handshake in answer["handshakes"]:
                yield pytest.param(daemon, handshake, bytes.fromhex(answer["data"]),
                                   id=f"{daemon}<-{handshake}")


@pytest.mark.parametrize("daemon, handshake, data", list(cases()))
def test_no_answer_names_a_daemon_wrong_for_sure(daemon, handshake, data):
    right = SAME_SERVICE.get(daemon, {daemon})
    sure = sure_labels(labels(data), REGISTRY[handshake])
    label = label_of(sure, DEFAULT_ORDER)
    assert label in right | {UNKNOWN}, f"{daemon} named {label!r} for sure by its answer to {handshake}"


@pytest.mark.parametrize("daemon", sorted(DAEMONS))
def test_each_daemon_is_named_by_its_own_probe(daemon):
    own = next(bytes.fromhex(a["data"]) for a in DAEMONS[daemon] if daemon in a["handshakes"])
    assert label_of(labels(own), DEFAULT_ORDER) == daemon
