"""A running scan, seen from outside: who can talk to its sockets, and who keeps root.

A scan runs in namespaces with the nfqueue RST guard (so every kind of socket exists, the
guard's announce socket included) and waits for input while the tests look at it.

Sockets: they live in a root directory that the group of the user the children become
(`nobody`) may enter.

* a process of another unprivileged user cannot even connect (the file system refuses);
* a process of the scan's own user, outside the scan, connects but is refused in the ZeroMQ
  handshake (the peer check), before any frame of its is read;
* a root process outside the scan, sending frames that would stop the scan (FAILED) or open
  flows in the guard (FLOWS), is refused the same way.

Privileges: every process that parses packets or input runs as `nobody` with no capabilities;
only the coordinator keeps root.

Either way the scan then finishes normally.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator

import pytest

from lzr.runtime import privileges
from lzr_sim.demo import HTTP_PORT, TargetServices
from lzr_sim.lab import NetnsLab

pytestmark = pytest.mark.netns

NOBODY = pwd.getpwnam("nobody").pw_uid
NOBODY_GROUP = pwd.getpwnam("nobody").pw_gid
STRANGER = 4242          # a user that is neither root nor the scan's --user
# The unprivileged processes need an interpreter they may run: the test's own may live in a
# directory only root can enter. They use the standard library only.
SYSTEM_PYTHON = "/usr/bin/python3"

# Connects to each socket path given as an argument and speaks ZMTP 3.0 as a PUSH socket with
# the NULL mechanism: greeting, then READY. A scan's socket refuses a peer it does not admit
# with an ERROR command. Prints {path: outcome}.
ZMTP_PEER = textwrap.dedent("""
    import json, os, socket, sys
    GREETING = b"\\xff" + bytes(8) + b"\\x7f\\x03\\x00" + b"NULL".ljust(20, b"\\0") + bytes(32)
    READY = b"\\x05READY" + b"\\x0bSocket-Type" + (4).to_bytes(4, "big") + b"PUSH"
    def read(sock, size):
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data
    outcome = {"uid": os.getuid()}
    for path in sys.argv[1:]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(path)
            sock.sendall(GREETING + b"\\x04" + bytes([len(READY)]) + READY)
            read(sock, 64)
            flags, size = read(sock, 2)
            body = read(sock, size)
            outcome[path] = "refused" if body[1:6] == b"ERROR" else body[1:6].decode()
        except PermissionError:
            outcome[path] = "permission denied"
        except (OSError, EOFError) as error:
            outcome[path] = f"error {error!r}"
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



class WaitingScan:
    """A scan that has announced itself and waits for its input."""

    def __init__(self, process: subprocess.Popen, target: str) -> None:
        self.process = process
        self.target = target
        [self.directory] = glob.glob(os.path.join(tempfile.gettempdir(),
                                                  f"lzr-scan-{process.pid}-*"))

    def children(self) -> list[int]:
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as fh:
            return [int(child) for child in fh.read().split()]

    def finish(self) -> list[str]:
        """Give it one HTTP target; returns the labels of its records."""
        out, err = self.process.communicate(f"{self.target};{HTTP_PORT}\n", timeout=60)
        assert self.process.returncode == 0, err
        assert "injected" not in err
        return [json.loads(line)["fingerprint"] for line in out.splitlines()]


@contextlib.contextmanager
def waiting_scan(name: str, subnet: str) -> Iterator[WaitingScan]:
    """Two workers, directly connected (their ARP requests go through the coordinator)."""
    with NetnsLab() as lab:
        scanner, target = lab.add_host(name), lab.add_host(f"{name}t")
        scan_if, _ = lab.link(scanner, target, f"{subnet}.1/24", f"{subnet}.2/24")
        with TargetServices(target):
            process = subprocess.Popen(
                ["ip", "netns", "exec", scanner.netns, sys.executable, "-m", "lzr.cli",
                 "-sendSYNs", "-f", "-", "-w", "2", "-t", "1", "-rt", "1", "-c", "1",
                 "--allow-reserved", "--rst-guard", "nfqueue", "-sendInterface", scan_if],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                if not any("++RST guard" in line for line in process.stderr):
                    raise AssertionError("the scan did not start")
                yield WaitingScan(process, f"{subnet}.2")
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def test_only_the_scans_own_processes_reach_its_sockets():
    with waiting_scan("ipc", "10.236.0") as scan:
        directory = scan.directory
        info = os.lstat(directory)
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o710, 0, NOBODY_GROUP)
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
            info = os.lstat(path)
            assert stat.S_ISSOCK(info.st_mode), path
            assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o770, 0, NOBODY_GROUP)

        def peer_as(uid: int, gid: int) -> dict:
            result = json.loads(subprocess.run(
                [SYSTEM_PYTHON, "-c", ZMTP_PEER, *sockets], user=uid, group=gid,
                extra_groups=[], capture_output=True, text=True, check=True).stdout)
            assert result.pop("uid") == uid
            return result

        assert peer_as(STRANGER, STRANGER) == {path: "permission denied" for path in sockets}
        assert peer_as(NOBODY, NOBODY_GROUP) == {path: "refused" for path in sockets}

        outsider = json.loads(subprocess.run(
            [sys.executable, "-c", INJECT, *(f"ipc://{path}" for path in sockets)],
            capture_output=True, text=True, check=True, timeout=120).stdout)
        assert outsider == {f"ipc://{path}": "refused" for path in sockets}
        assert scan.finish() == ["http"]
    assert not os.path.exists(directory)


def dropped(pid: int) -> bool:
    return privileges.status(pid)["Uid"].split()[0] != "0"


def test_the_processes_that_parse_packets_and_input_give_up_root():
    with waiting_scan("priv", "10.238.0") as scan:
        # writer, two workers, receiver, feeder; each drops at the end of its setup.
        deadline = time.monotonic() + 20
        while len(scan.children()) < 5 or not all(map(dropped, scan.children())):
            assert time.monotonic() < deadline, "not every child gave up root"
            time.sleep(0.02)
        seen = {pid: privileges.status(pid) for pid in scan.children()}
        coordinator = privileges.status(scan.process.pid)
        assert scan.finish() == ["http"]
    for pid, fields in seen.items():
        assert fields["Uid"].split() == [str(NOBODY)] * 4, pid
        assert fields["Gid"].split() == [str(NOBODY_GROUP)] * 4, pid
        assert {name: int(fields[name], 16) for name in privileges.CAPABILITY_FIELDS} == \
            dict.fromkeys(privileges.CAPABILITY_FIELDS, 0), pid
        assert fields["NoNewPrivs"] == "1"
    assert coordinator["Uid"].split()[0] == "0" and int(coordinator["CapEff"], 16) != 0
