"""Nobody but the scan's own processes can talk to a running scan's sockets.

A scan runs in namespaces with the nfqueue RST guard (so every kind of socket exists, the
guard's announce socket included). While it waits for input, an unprivileged process tries
to connect to each socket, and a root process that is not part of the scan connects and
sends frames that would stop the scan (FAILED) or open flows in the guard (FLOWS). The first
is refused by the file system, the second by the peer check; the scan then finishes normally.
"""
from __future__ import annotations

import glob
import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from lzr_sim.demo import HTTP_PORT, TargetServices
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

NOBODY = 65534
# The unprivileged process needs an interpreter it may run: the test's own may live in a
# directory only root can enter.
SYSTEM_PYTHON = "/usr/bin/python3"

# Tries a plain connect() on each path given as an argument; prints {path: outcome}.
CONNECT = textwrap.dedent("""
    import json, os, socket, sys
    outcome = {"uid": os.getuid()}
    for path in sys.argv[1:]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            outcome[path] = "connected"
        except PermissionError:
            outcome[path] = "permission denied"
        except OSError as error:
            outcome[path] = f"error {error.errno}"
        finally:
            sock.close()
    print(json.dumps(outcome))
""")

# Connects to each endpoint with ZeroMQ, sends a frame the scan would act on, and reports how
# the handshake ended.
INJECT = textwrap.dedent("""
    import json, sys
    import zmq
    from zmq.utils.monitor import recv_monitor_message
    from lzr.runtime import frames
    ctx = zmq.Context()
    outcome = {}
    for endpoint in sys.argv[1:]:
        sock = ctx.socket(zmq.PUSH)
        monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        sock.connect(endpoint)
        if endpoint.endswith("rstguard-announce"):
            sock.send(frames.pack_flows([(frames.FLOW_OPEN, 1, 2, 3)]))
        else:
            sock.send(frames.pack_text(frames.FAILED, "injected by an outsider"))
        outcome[endpoint] = "no handshake"
        if monitor.poll(5000):
            event = recv_monitor_message(monitor)["event"]
            outcome[endpoint] = "accepted" if event == zmq.EVENT_HANDSHAKE_SUCCEEDED else "refused"
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)
    ctx.term()
    print(json.dumps(outcome))
""")


def wait_for_line(stream, text: str) -> None:
    for line in stream:
        if text in line:
            return
    raise AssertionError(f"no line with {text!r}")


def test_only_the_scans_own_processes_reach_its_sockets():
    with NetnsLab() as lab:
        scanner, target = lab.add_host("ipc"), lab.add_host("ipct")
        scan_if, _ = lab.link(scanner, target, "10.236.0.1/24", "10.236.0.2/24")
        with TargetServices(target):
            scan = subprocess.Popen(
                ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                 "-sendSYNs", "-f", "-", "-t", "1", "-rt", "1", "-c", "1", "--allow-reserved",
                 "--rst-guard", "nfqueue", "-sendInterface", scan_if],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                wait_for_line(scan.stderr, "++RST guard")
                [directory] = glob.glob(os.path.join(tempfile.gettempdir(), f"lzr-scan-{scan.pid}-*"))
                info = os.lstat(directory)
                assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == 0
                # The feeder binds its socket just after the announcement.
                feeder = os.path.join(directory, "feeder-control")
                deadline = time.monotonic() + 10
                while not os.path.exists(feeder):
                    assert time.monotonic() < deadline, "the feeder did not start"
                    time.sleep(0.01)
                sockets = sorted(os.path.join(directory, name) for name in os.listdir(directory))
                assert {"coordinator", "writer", "worker0-targets", "rstguard-announce"} <= \
                    {os.path.basename(path) for path in sockets}
                for path in sockets:
                    mode = os.lstat(path).st_mode
                    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) & 0o077 == 0, path

                unprivileged = json.loads(subprocess.run(
                    [SYSTEM_PYTHON, "-c", CONNECT, *sockets], user=NOBODY, group=NOBODY,
                    extra_groups=[], capture_output=True, text=True, check=True).stdout)
                assert unprivileged.pop("uid") == NOBODY
                assert unprivileged == {path: "permission denied" for path in sockets}

                outsider = json.loads(subprocess.run(
                    [sys.executable, "-c", INJECT, *(f"ipc://{path}" for path in sockets)],
                    capture_output=True, text=True, check=True, timeout=120).stdout)
                assert outsider == {f"ipc://{path}": "refused" for path in sockets}

                out, err = scan.communicate(f"10.236.0.2;{HTTP_PORT}\n", timeout=60)
            finally:
                if scan.poll() is None:
                    scan.kill()
                    scan.wait()
            assert scan.returncode == 0, err
            assert "injected" not in err
            assert [json.loads(line)["fingerprint"] for line in out.splitlines()] == ["http"]
            assert not os.path.exists(directory)
