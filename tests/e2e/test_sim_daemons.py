"""The real-daemon tier: Debian's daemons on non-standard ports, with the hard cases.

* Each daemon of lzr_sim.daemons, started by the services runner in a lab namespace, answers
  the scanner's probe for its label with a response that gets that label, and leaves no
  process and only its configuration and logs behind when the runner stops.
* The tier's hard cases get the records its manifest expects, scanned with a short
  handshake list and ACKing-firewall probes.
* The whole tier scanned as a user would, `lzr -sendSYNs -handshakes all` and nothing
  else, within a bound: every hard case recorded as the manifest says, every service named.
"""
import socket

import pytest

from lzr.fingerprint import fingerprint
from lzr.runtime.process_identity import is_alive
from lzr.runtime.netns import inside_netns
from lzr_sim.capture import SERVER, daemons_in_a_lab, first_answer
from lzr_sim.daemons import DAEMONS
from lzr_sim.population import daemon_tier

# The handshake whose probe names a daemon, where it is not the label's own: Samba closes
# the connection on LZR's malformed SMB1 negotiate and answers a well-formed SMB2 one.
HANDSHAKE_OF = {"smb": "smb2"}


@pytest.fixture(scope="module")
def lab_daemons():
    """Every daemon in one lab namespace: (client namespace, runner, {label: port}, state directory)."""
    missing = sorted(f"{daemon.binary} ({daemon.package})" for daemon in DAEMONS.values() if daemon.path() is None)
    assert not missing, f"not installed (ci/setup installs them): {', '.join(missing)}"
    with daemons_in_a_lab(sorted(DAEMONS)) as running:
        yield running


@pytest.mark.netns
@pytest.mark.parametrize("label", sorted(DAEMONS))
def test_each_daemon_answers_its_own_probe_with_its_label(lab_daemons, label):
    client, _, ports, _ = lab_daemons
    handshake = HANDSHAKE_OF.get(label, label)
    answer = first_answer(client, ports[label], handshake)
    assert fingerprint(answer, [handshake]) == label, answer[:200]


@pytest.mark.netns
def test_samba_closes_on_lzrs_smb1_probe(lab_daemons):
    client, _, ports, _ = lab_daemons
    assert first_answer(client, ports["smb"], "smb") == b""


@pytest.mark.netns
def test_daemons_stop_with_their_runner_and_keep_only_configuration_and_logs(lab_daemons):
    # Runs after the other tests of the lab's daemons (file order); the lab goes afterwards.
    client, runner, ports, state = lab_daemons
    pid_files = sorted(state.glob("*/pid"))
    assert len(pid_files) == len(ports)
    daemons = [tuple(int(field) for field in path.read_text().split()) for path in pid_files]
    runner.terminate()
    assert runner.wait(timeout=60) == 0
    assert [pid for pid, start in daemons if is_alive(pid, start)] == []
    for directory in state.iterdir():
        assert sorted(path.name for path in directory.iterdir()) == ["conf", "log"], directory
    with inside_netns(client.netns):
        for port in ports.values():
            with pytest.raises(OSError):
                socket.create_connection((SERVER, port), timeout=2).close()


@pytest.fixture(scope="module")
def tier():
    from lzr_sim.network import SimNetwork
    with SimNetwork(daemon_tier()) as net:
        yield net


def hard_case_failures(report) -> list[str]:
    return [f"{case.address}:{case.port} {case.behaviour}: {case.mismatches or 'no record'}"
            for case in report.hard_cases if not case.ok]


@pytest.mark.mininet
def test_the_tier_runs_real_daemons_inside_its_hosts(tier):
    for host in tier.manifest.hosts:
        for service in host.services:
            if service.daemon:
                listening = tier.run(host.node, ["ss", "-Hltnp", f"sport = :{service.port}"], timeout=10).stdout
                assert "python" not in listening and listening.strip(), (service.protocol, listening)


@pytest.mark.mininet
def test_the_tier_hard_cases_get_their_records_with_a_short_handshake_list(tier):
    from lzr_sim.report import evaluate
    hard = [(address, port) for address, port, service in tier.manifest.targets() if not service.identifiable]
    flags = ["-handshakes", "wait,http,tls", "-haf", "3"]
    report = evaluate(tier.manifest, tier.scan(flags, targets=hard, timeout=300), ["wait", "http", "tls"])
    behaviours = {case.behaviour for case in report.hard_cases}
    assert behaviours == {"silent", "rst", "closed", "filtered", "acking-firewall"}
    assert not hard_case_failures(report), hard_case_failures(report)


# With default flags the scan must also end soon: ACKing firewalls are detected by default
# and silent ports stop early, so it takes about 20 s; a scan cut short at this bound fails.
TIER_SCAN_BOUND = 120  # seconds


@pytest.fixture(scope="module")
def scan_as_a_user(tier):
    """The whole tier scanned with `lzr -sendSYNs -handshakes all` and default flags."""
    from lzr_sim.report import evaluate
    return evaluate(tier.manifest, tier.scan(["-handshakes", "all"], timeout=TIER_SCAN_BOUND), None)


@pytest.mark.mininet
def test_handshakes_all_with_default_flags_records_every_hard_case(scan_as_a_user):
    assert {case.behaviour for case in scan_as_a_user.hard_cases} == {
        "silent", "rst", "closed", "filtered", "acking-firewall"}
    assert not hard_case_failures(scan_as_a_user), hard_case_failures(scan_as_a_user)


@pytest.mark.mininet
def test_handshakes_all_with_default_flags_names_every_daemon(scan_as_a_user):
    report = scan_as_a_user
    wrong = {protocol: dict(labels) for protocol, labels in report.confusion.items() if set(labels) != {protocol}}
    assert report.recall == 1.0 and report.precision == 1.0, (wrong, report.markdown())
