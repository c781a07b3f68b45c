"""ACKing firewalls outside --compat: the address is probed when a target first needs an extra
connection, the verdict comes before the second round of handshakes, and a firewall's targets
all end within about one timeout without walking their handshake lists."""
import pytest

from lzr.handshakes import DEFAULT_ORDER
from lzr.output.record import Outcome
from lzr.wire.segment import FIN, SYN

from .peers import TARGET, Answer, FakeNet, Peer, settings, silent_acker

PORTS = (80, 443, 3389, 5432, 8080)
TIMEOUT = 5.0


def probes(net: FakeNet, ports=PORTS) -> list:
    """The -haf probes: SYNs to ports that are not the targets'."""
    return [s for _, s in net.sent if s.flags == SYN and s.dport not in ports]


@pytest.mark.parametrize("zmap_input", [True, False])
def test_a_firewall_host_with_five_ports_ends_within_about_one_timeout(zmap_input):
    net = FakeNet(settings(handshakes=DEFAULT_ORDER, timeout=TIMEOUT))
    net.answer_any_port(TARGET)         # every port SYN-ACKs, ACKs the probe, says nothing
    for port in PORTS:
        net.peer(TARGET, port, Peer(answer=silent_acker))
        if zmap_input:
            net.zmap(TARGET, port, lport=40000 + port)
        else:
            net.syn(TARGET, port)
    net.run()
    assert sorted(r.sport for r in net.records) == sorted(PORTS)
    for r in net.records:
        assert r.acking_firewall and r.outcome == Outcome.ACKING_FIREWALL and not r.data
        assert r.handshakes_tried <= 4      # the first round (--parallel 4), no walk
    assert max(r.timestamp_ns for r in net.records) <= TIMEOUT * 1e9
    assert len(probes(net)) == 3        # one set of probes for the address
    assert net.engine.in_flight == 0 and net.engine.next_deadline() is None
    assert not net.engine._firewall and not net.engine._hosts


def test_an_ordinary_host_is_cleared_at_once_and_keeps_its_order():
    # Closed ports answer RST: the verdict is in one round trip, nothing waits for it.
    names = ("http", "tls", "rdp", "ssh")
    net = FakeNet(settings(handshakes=names, parallel=2))
    net.refuse_other_ports(TARGET)
    net.peer(TARGET, 22, Peer(answer=lambda p, c: Answer(data=b"SSH-2.0-x\r\n")
                              if p.startswith(b"SSH") else Answer(ack=False, close=FIN)))
    net.syn(TARGET, 22)
    net.run()
    [r] = net.records
    assert (r.fingerprint, r.handshake, r.acking_firewall) == ("ssh", "ssh", False)
    assert len(probes(net, ports=(22,))) == 3 and r.timestamp_ns <= 0.1e9      # 10 rtt


def test_a_host_that_drops_probes_waits_for_them_only_beyond_the_first_round():
    # Closed ports answer nothing: the second round waits for the probes' timeout (-rt).
    names = ("http", "tls", "rdp", "ssh")
    net = FakeNet(settings(handshakes=names, parallel=2))
    net.peer(TARGET, 22, Peer(answer=lambda p, c: Answer(ack=False, close=FIN)))
    net.syn(TARGET, 22)
    net.run()
    syns = [t for t, s in net.sent if s.flags == SYN and s.dport == 22]
    # The first round once the port answered (probes go with handshake 1); the next waits -rt.
    assert syns[:3] == [0.0, 0.01, pytest.approx(1.01)]
    [r] = net.records
    assert not r.acking_firewall and r.handshakes_tried == 4


@pytest.mark.parametrize("answered, firewall", [(1, False), (2, True), (3, True)])
def test_two_of_three_probes_make_a_firewall(answered, firewall):
    net = FakeNet(settings(handshakes=("http", "tls", "rdp")))
    net.peer(TARGET, 80, Peer(answer=silent_acker))
    net.answer_any_port(TARGET, answered)
    net.syn(TARGET, 80)
    net.run()
    [r] = net.records
    assert r.acking_firewall == firewall
    assert r.handshakes_tried == 3


def test_a_service_answering_before_the_verdict_is_named():
    net = FakeNet(settings(handshakes=("wait", "http", "tls")))
    net.answer_any_port(TARGET)
    net.peer(TARGET, 21, Peer(answer=lambda p, c: Answer(ack=False, data=b"220 (vsFTPd 3.0.5)\r\n")))
    net.zmap(TARGET, 21)
    net.run()
    [r] = net.records
    assert (r.fingerprint, r.acking_firewall) == ("ftp", False)


def test_compat_keeps_lzrs_defaults_no_probes():
    net = FakeNet(settings(compat=True, handshakes=DEFAULT_ORDER[:3], timeout=TIMEOUT))
    net.answer_any_port(TARGET)
    net.peer(TARGET, 80, Peer(answer=silent_acker))
    net.zmap(TARGET, 80)
    net.run()
    [r] = net.records
    assert not probes(net) and not r.acking_firewall and r.handshakes_tried == 3
