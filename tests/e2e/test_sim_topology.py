"""The emulated network itself: it comes up, cannot be left, and leaves nothing behind.

The tests use the default run root, like users: if a session dies, the next one finds its
leftovers there (a per-test temporary root would be rotated away by pytest first).
"""
import json
import os
import signal
import subprocess
import sys

import pytest

from lzr.runtime.process_identity import is_alive
from lzr_sim.errors import HarnessError
from lzr_sim.network import SimNetwork
from lzr_sim.runs import list_runs, run_links, run_root
from lzr_sim.manifest import from_dict

pytestmark = pytest.mark.mininet


def bare(hosts=2, topology="routed", addresses=None):
    """A manifest of hosts without services (this file tests the network, not the services)."""
    addresses = addresses or [f"198.18.0.{10 + i}" for i in range(hosts)]
    nodes = [f"p{1 + i % 2}" if topology == "sparse" else f"h{i + 1}" for i in range(len(addresses))]
    return from_dict({"version": 1, "topology": topology, "hosts": [
        {"name": f"h{i + 1}", "address": a, "node": n, "services": []}
        for i, (a, n) in enumerate(zip(addresses, nodes))]})


def leftovers(run_id, pids):
    return run_links(run_id), [pid for pid, start in pids if is_alive(pid, start)]


def namespaces_of(pids):
    """Network namespace ids (inode numbers) of the given live processes."""
    return {os.stat(f"/proc/{pid}/ns/net").st_ino for pid, _ in pids}


def live_namespaces():
    listing = subprocess.run(["lsns", "-t", "net", "-n", "-o", "NS"], capture_output=True, text=True, check=True)
    return {int(line) for line in listing.stdout.split()}


def in_node(net, node, command):
    return net.run(node, ["sh", "-c", command], timeout=10)


def test_up_reaches_targets_and_down_leaves_nothing():
    with SimNetwork(bare(3)) as net:
        run_id, pids = net.run_id, list(net.state.processes)
        assert run_links(run_id) and all(is_alive(pid, start) for pid, start in pids)
        namespaces = namespaces_of(pids)
        assert len(namespaces) == 5 and namespaces <= live_namespaces()  # scanner, router, 3 hosts
        assert in_node(net, "sc", "ping -c1 -W2 198.18.0.12").returncode == 0
        assert (run_root() / run_id / "state.json").exists()
    assert leftovers(run_id, pids) == ([], [])
    assert not namespaces & live_namespaces()
    assert not (run_root() / run_id / "state.json").exists()


def test_no_route_leaves_the_lab():
    with SimNetwork(bare(1)) as net:
        scanner_routes = in_node(net, "sc", "ip -4 route show").stdout.splitlines()
        assert [r for r in scanner_routes if r.startswith("default")] == ["default via 198.19.255.1 dev "
                                                                         f"{net.run_id}sc-eth0 "]
        router_routes = in_node(net, "rt", "ip -4 route show").stdout
        assert "default" not in router_routes
        # The route lookup itself fails in the router: no packet to 192.0.2.1 is ever sent.
        assert "unreachable" in in_node(net, "rt", "ip route get 192.0.2.1 2>&1").stdout.lower()
        for node in ("sc", "rt", "h1"):
            links = in_node(net, node, "ip -o link show").stdout
            assert all(net.run_id in line or ": lo:" in line for line in links.splitlines())


def test_exception_inside_the_context_still_tears_down():
    with pytest.raises(RuntimeError, match="boom"):
        with SimNetwork(bare(2)) as net:
            run_id, pids = net.run_id, list(net.state.processes)
            raise RuntimeError("boom")
    assert leftovers(run_id, pids) == ([], [])


def run_in_child(body: str) -> tuple[subprocess.Popen, str, dict]:
    """A Python child that brings up two bare hosts with `body` and prints the run id:
    (the child, its run id, the run's state.json)."""
    script = ("import sys, time; from lzr_sim.network import SimNetwork; from lzr_sim.manifest import Manifest\n"
              + body)
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    process.stdin.write(bare(2).to_json())
    process.stdin.close()
    run_id = process.stdout.readline().strip()
    return process, run_id, json.loads((run_root() / run_id / "state.json").read_text())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_tears_down(signum):
    # The run id is printed inside the `with`, so the signal always lands in its body; the
    # child's sleep is the time it holds the network up for the signal, not a wait for anything.
    process, run_id, state = run_in_child(
        "with SimNetwork(Manifest.from_json(sys.stdin.read())) as net:\n"
        "    print(net.run_id, flush=True)\n"
        "    time.sleep(60)\n")
    process.send_signal(signum)
    process.wait(timeout=90)  # generous: teardown of 2 hosts takes a second, but the machine is shared
    assert leftovers(run_id, state["processes"]) == ([], [])


def test_killed_run_is_cleaned_by_the_next_up():
    # The child's sleep holds the network up until the SIGKILL; 60 s only bounds a lost child.
    process, killed_run, state = run_in_child(
        "net = SimNetwork(Manifest.from_json(sys.stdin.read()))\n"
        "net.__enter__(); print(net.run_id, flush=True); time.sleep(60)\n")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run_links(killed_run), "a SIGKILLed run leaves its bridges behind"
    with SimNetwork(bare(1)):
        assert leftovers(killed_run, state["processes"]) == ([], [])
        assert killed_run not in [s.run_id for s in list_runs()]


def test_sparse_host_answers_only_for_live_addresses():
    live, empty = "198.19.0.77", "198.19.0.78"
    with SimNetwork(bare(addresses=[live, "198.19.16.5"], topology="sparse")) as net:
        # A live address refuses a closed port at once (RST); an empty one stays silent.
        refused = in_node(net, "sc", f"timeout 3 bash -c 'echo > /dev/tcp/{live}/4444' 2>&1")
        assert "refused" in refused.stdout.lower()
        silent = in_node(net, "sc", f"timeout 1 bash -c 'echo > /dev/tcp/{empty}/4444' 2>&1")
        assert silent.returncode == 124, "the connect ended before timeout stopped it"
        assert in_node(net, "sc", "ping -c1 -W2 198.19.16.5").returncode == 0


def test_manifest_chooses_node_names_and_addresses():
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "web", "address": "198.18.3.7", "node": "web", "services": []}]})
    with SimNetwork(manifest) as net:
        assert in_node(net, "sc", "ping -c1 -W2 198.18.3.7").returncode == 0
        assert "198.18.3.7/16" in in_node(net, "web", "ip -4 -o addr show").stdout


@pytest.mark.parametrize("address, node", [("10.0.0.1", "h1"), ("198.18.0.1", "h1"), ("198.18.0.20", "sc")])
def test_hosts_outside_the_plan_are_refused_before_anything_is_built(address, node):
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "x", "address": address, "node": node, "services": []}]})
    network = SimNetwork(manifest)
    with pytest.raises(HarnessError, match="must be"):
        network.__enter__()
    assert run_links(network.run_id) == []


def test_a_service_that_cannot_start_fails_up_and_leaves_nothing():
    manifest = from_dict({"version": 1, "topology": "routed", "hosts": [
        {"name": "h1", "address": "198.18.0.10", "node": "h1", "services": [{"port": 80, "protocol": "gopher"}]}]})
    network = SimNetwork(manifest)
    with pytest.raises(HarnessError, match="no synthetic service for gopher"):
        network.__enter__()
    assert run_links(network.run_id) == [] and not (run_root() / network.run_id / "state.json").exists()


def test_cli_up_exec_down(tmp_path):
    manifest = tmp_path / "manifest.json"
    bare(2).save(manifest)
    lzr_sim = [sys.executable, "-m", "lzr_sim.cli"]
    up = subprocess.Popen([*lzr_sim, "up", "--manifest", str(manifest)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in up.stdout:
            lines.append(line)
            if line.startswith("up in"):
                break
        run_id = lines[0].split()[1].rstrip(":")
        shown = subprocess.run([*lzr_sim, "exec", "--run", run_id, "--node", "h2", "--", "ip", "-4", "-o", "addr"],
                               capture_output=True, text=True, timeout=30)
        assert "198.18.0.11/16" in shown.stdout, shown
        down = subprocess.run([*lzr_sim, "down", "--run", run_id], capture_output=True, text=True, timeout=90)
        assert down.returncode == 0, down.stderr
        assert up.wait(timeout=30) == 0
        assert run_links(run_id) == []
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
