"""The synthetic services answer the scanner's probes the way the real protocols do.

One runner process serves every service on loopback. Each service must get its own label
from lzr.fingerprint when sent the scanner's probe for it, and must survive every other
probe (the runner reports no service bug and keeps serving).
"""
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import ssl
import sys
import tempfile

import pytest

from lzr.fingerprint import fingerprint
from lzr.handshakes import REGISTRY
from lzr.handshakes.base import never
from lzr_sim.services import SERVICES, Service
from lzr_sim.services.serve import Runner, SpecError, parse_spec

LOOPBACK = "127.0.0.1"
# LZR's own SYNs carry no MSS option, so targets send it at most 536-byte segments: the
# part of an answer that names the protocol must fit in that.
DEFAULT_MSS = 536


def start_runner(spec: list[dict], stderr) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen([sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        proc.kill()
        proc.wait()
        pytest.fail(f"runner did not get ready: {line}")
    assert int(line[1]) == len(spec)
    return proc, [int(port) for port in line[2:]]


def stop_runner(proc: subprocess.Popen) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@pytest.fixture(scope="module")
def runner():
    labels = sorted(SERVICES)
    with tempfile.TemporaryFile("w+") as errors:
        proc, ports = start_runner([{"address": LOOPBACK, "port": 0, "protocol": label} for label in labels],
                                   errors)
        try:
            yield proc, dict(zip(labels, ports)), errors
        finally:
            assert stop_runner(proc) == 0


def first_answer(port: int, probe: bytes, speaks_first: bool = False, timeout: float = 10.0) -> bytes:
    """The first data the service sends when the scanner opens with `probe`.

    A server that speaks first sends its banner as soon as the connection is up, so that is
    the first segment the scanner gets even though its probe rode on the handshake's ACK.
    On loopback a later reply could be read together with it, so the banner is read first.
    """
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as conn:
        if speaks_first:
            return conn.recv(65536)
        if probe:
            conn.sendall(probe)
        return conn.recv(65536)


def handshake_for(label: str):
    if label not in REGISTRY:
        pytest.skip(f"handshake {label!r} has not landed in lzr.handshakes yet")
    return REGISTRY[label]


def service_errors(errors) -> list[str]:
    errors.flush()
    errors.seek(0)
    return [line for line in errors.read().splitlines() if line.startswith("ERROR ")]


@pytest.mark.parametrize("label", sorted(SERVICES))
def test_own_probe_gets_own_label(runner, label):
    _, ports, _ = runner
    handshake = handshake_for(label)
    answer = first_answer(ports[label], handshake.probe(LOOPBACK), SERVICES[label].speaks_first)
    assert fingerprint(answer, [label]) == label, answer[:200]
    assert fingerprint(answer[:DEFAULT_MSS], [label]) == label


def test_every_handshake_with_a_rule_has_a_service():
    with_rules = {name for name, hs in REGISTRY.items() if hs.match is not never}
    assert with_rules - set(SERVICES) == set()


def test_smb2_probe_is_named_smb(runner):
    _, ports, _ = runner
    answer = first_answer(ports["smb"], handshake_for("smb2").probe(LOOPBACK))
    assert answer[4:8] == b"\xfeSMB"
    assert fingerprint(answer, ["smb2"]) == "smb"


def test_samba_drops_lzrs_malformed_smb1_probe():
    spec = [{"address": LOOPBACK, "port": 0, "protocol": "smb", "options": {"malformed": "drop"}}]
    with tempfile.TemporaryFile("w+") as errors:
        proc, (port,) = start_runner(spec, errors)
        try:
            assert first_answer(port, handshake_for("smb").probe(LOOPBACK)) == b""
            assert fingerprint(first_answer(port, handshake_for("smb2").probe(LOOPBACK)), ["smb2"]) == "smb"
        finally:
            assert stop_runner(proc) == 0


async def exchange(port: int, probe: bytes, limit: asyncio.Semaphore) -> None:
    """Send `probe`, close our side, read until the service closes (or a few seconds pass)."""
    async with limit:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        try:
            writer.write(probe)
            await writer.drain()
            writer.write_eof()
            async with asyncio.timeout(5):
                while await reader.read(65536):
                    pass
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()


def test_every_probe_to_every_service(runner):
    proc, ports, errors = runner
    probes = {name: hs.probe(LOOPBACK) for name, hs in REGISTRY.items() if not hs.server_first}

    async def barrage():
        limit = asyncio.Semaphore(64)
        await asyncio.gather(*(exchange(port, probe, limit) for port in ports.values()
                               for probe in probes.values()))

    asyncio.run(barrage())
    assert proc.poll() is None
    assert service_errors(errors) == []
    for label, port in ports.items():
        if label in REGISTRY:
            answer = first_answer(port, REGISTRY[label].probe(LOOPBACK), SERVICES[label].speaks_first)
            assert fingerprint(answer, [label]) == label


def test_garbage_and_truncated_probes_do_not_break_services(runner):
    proc, ports, errors = runner
    generator = random.Random(20210811)
    garbage = [b"", b"\x00" * 64, b"\xff" * 300, bytes(range(256)), b"\r\n" * 10]
    garbage += [generator.randbytes(generator.randrange(1, 600)) for _ in range(10)]

    def inputs(label):
        probe = REGISTRY[label].probe(LOOPBACK) if label in REGISTRY else b""
        truncated = [probe[:cut] for cut in (1, len(probe) // 2, len(probe) - 1) if 0 < cut < len(probe)]
        return garbage + truncated

    async def barrage():
        limit = asyncio.Semaphore(64)
        await asyncio.gather(*(exchange(port, data, limit) for label, port in ports.items()
                               for data in inputs(label)))

    asyncio.run(barrage())
    assert proc.poll() is None
    assert service_errors(errors) == []


def test_modes_and_banner_delay():
    spec = [{"address": LOOPBACK, "port": 0, "mode": "reset"},
            {"address": LOOPBACK, "port": 0, "mode": "silent"},
            {"address": LOOPBACK, "port": 0, "protocol": "ftp", "banner_delay": 0.5}]
    with tempfile.TemporaryFile("w+") as errors:
        proc, (reset_port, silent_port, slow_port) = start_runner(spec, errors)
        try:
            # On loopback the RST may already be there when connect() returns.
            with pytest.raises(ConnectionResetError):
                with socket.create_connection((LOOPBACK, reset_port), timeout=5) as conn:
                    conn.recv(100)
            with socket.create_connection((LOOPBACK, silent_port), timeout=0.5) as conn:
                conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
                with pytest.raises(TimeoutError):
                    conn.recv(100)
            with socket.create_connection((LOOPBACK, slow_port), timeout=0.2) as conn:
                with pytest.raises(TimeoutError):
                    conn.recv(100)
                conn.settimeout(10)
                assert conn.recv(100).startswith(b"220 ")
        finally:
            assert stop_runner(proc) == 0
        assert service_errors(errors) == []


def test_sigterm_with_open_connections_exits_cleanly():
    spec = [{"address": LOOPBACK, "port": 0, "mode": "silent"},
            {"address": LOOPBACK, "port": 0, "protocol": "redis"}]
    with tempfile.TemporaryFile("w+") as errors:
        proc, ports = start_runner(spec, errors)
        connections = [socket.create_connection((LOOPBACK, port), timeout=5) for port in ports]
        try:
            connections[1].sendall(b"PING\r\n")
            assert connections[1].recv(100) == b"+PONG\r\n"
            assert stop_runner(proc) == 0
            assert [conn.recv(100) for conn in connections] == [b"", b""]  # closed, not left hanging
        finally:
            for conn in connections:
                conn.close()


def test_bind_failure_reports_failed():
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = json.dumps([{"address": LOOPBACK, "port": port, "protocol": "http"}])
        result = subprocess.run([sys.executable, "-m", "lzr_sim.services.serve", "--spec-json", spec],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stdout.startswith("FAILED ")


@pytest.mark.parametrize("spec", [
    "[]", "{}", "not json", '[{"protocol": "http"}]', '[{"port": 1, "protocol": "gopher"}]',
    '[{"port": 1, "mode": "sleepy"}]', '[{"port": "80", "protocol": "http"}]',
    '[{"port": 1, "protocol": "http", "colour": "red"}]',
])
def test_invalid_specs_are_refused(spec):
    with pytest.raises(SpecError):
        parse_spec(spec)


def test_runner_reports_a_service_bug_and_keeps_serving(monkeypatch, capsys):
    class Faulty(Service):
        label = "faulty"

        async def serve(self, reader, writer):
            if await reader.read(1) == b"!":
                raise KeyError("a bug")
            writer.write(b"fine")
            await writer.drain()

    monkeypatch.setitem(SERVICES, "faulty", Faulty)

    async def scenario():
        runner = Runner(parse_spec(json.dumps([{"address": LOOPBACK, "port": 0, "protocol": "faulty"}])))
        (port,) = await runner.start()
        try:
            answers = []
            for data in (b"!", b"?"):
                reader, writer = await asyncio.open_connection(LOOPBACK, port)
                writer.write(data)
                answers.append(await reader.read(10))
                writer.close()
            return answers
        finally:
            await runner.close()

    assert asyncio.run(scenario()) == [b"", b"fine"]
    assert capsys.readouterr().err.startswith("ERROR faulty port ")


@pytest.mark.parametrize("entry", [{"port": 0, "protocol": "http", "daemon": True},
                                   {"port": 80, "protocol": "vnc", "daemon": True},
                                   {"port": 80, "mode": "silent", "daemon": True},
                                   {"port": 80, "address": "::", "protocol": "http", "daemon": True}])
def test_daemon_entries_need_a_port_and_a_known_daemon(entry):
    with pytest.raises(SpecError):
        parse_spec(json.dumps([entry]))



def test_a_close_notify_inside_an_open_connection_does_not_stall_the_runner(runner):
    """nmap -sV ends TLS sessions so; OpenSSL then reads b"" for ever, and a TLS service that
    kept reading froze every service of its host."""
    proc, ports, errors = runner
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client.wrap_bio(incoming, outgoing)
    with socket.create_connection((LOOPBACK, ports["tls"]), timeout=10) as raw:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                incoming.write(raw.recv(65536))
        raw.sendall(outgoing.read())        # our Finished: the server's handshake is done ...
        assert tls.version() == "TLSv1.3"
        incoming.write(raw.recv(65536))     # ... when its session tickets arrive
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.unwrap()
        raw.sendall(outgoing.read())        # close_notify; our side of the connection stays open
        while raw.recv(65536):              # the server ends the session and closes
            pass
        answer = first_answer(ports["http"], REGISTRY["http"].probe(LOOPBACK), timeout=5)
    assert fingerprint(answer, ["http"]) == "http"
    assert proc.poll() is None
    assert service_errors(errors) == []
