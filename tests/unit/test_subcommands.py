"""`lzr probe`, `lzr fingerprint` and `lzr handshakes` as users run them."""
import io
import subprocess
import sys

import pytest

from lzr import cli
from lzr.handshakes import REGISTRY


def run(argv, stdin=b"", monkeypatch=None):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    return cli.main(argv)


def test_probe_http_is_193_bytes_through_a_pipe():
    probe = subprocess.run(
        [sys.executable, "-m", "lzr.cli", "probe", "http", "--target", "1.2.3.4"],
        capture_output=True, check=True,
    )
    assert len(probe.stdout) == 193
    assert probe.stdout.startswith(b"GET / HTTP/1.1\r\nHost: 1.2.3.4\r\n")


def test_fingerprint_from_a_pipe():
    result = subprocess.run(
        [sys.executable, "-m", "lzr.cli", "fingerprint"],
        input=b"SSH-2.0-OpenSSH_9.2\r\n", capture_output=True, check=True,
    )
    assert result.stdout == b"ssh\n"


def test_probe_writes_raw_binary(capsysbinary):
    assert cli.main(["probe", "mqtt"]) == 0
    assert capsysbinary.readouterr().out == bytes.fromhex("100f00044d5154540400000a00034c5a52")


@pytest.mark.parametrize("flag", [["--target", "::1"], ["-target", "::1"], ["-target=::1"]])
def test_probe_target_flag_forms(flag, capsysbinary):
    assert cli.main(["probe", "http", *flag]) == 0
    assert b"\r\nHost: [::1]\r\n" in capsysbinary.readouterr().out


def test_server_first_probe_is_empty(capsysbinary):
    assert cli.main(["probe", "ftp"]) == 0
    assert capsysbinary.readouterr().out == b""


@pytest.mark.parametrize(
    "flags,expected",
    [
        ([], "smtp-ftp"),
        (["-handshakes", "ftp,http"], "ftp"),
        (["--handshakes", "ftp,http"], "ftp"),
        (["-handshakes=ftp,http"], "ftp"),
        (["--handshakes=smtp"], "smtp"),
        (["-handshakes", "ftp", "-priorityFingerprint", "smtp"], "smtp"),
        (["--priorityFingerprint=http", "-handshakes", "ftp"], "smtp-ftp"),
    ],
)
def test_fingerprint_tie_break_flags(flags, expected, monkeypatch, capsys):
    assert run(["fingerprint", *flags], b"220 Welcome\r\n", monkeypatch) == 0
    assert capsys.readouterr().out == f"{expected}\n"


@pytest.mark.parametrize("flag", ["--hex", "-hex"])
def test_fingerprint_hex_input(flag, monkeypatch, capsys):
    assert run(["fingerprint", flag], b"15 03 00\n00 02 02 28\n", monkeypatch) == 0
    assert capsys.readouterr().out == "ssl\n"


def test_fingerprint_bad_hex_exits_2(monkeypatch, capsys):
    assert run(["fingerprint", "--hex"], b"zz", monkeypatch) == 2
    assert "not hex" in capsys.readouterr().err


def test_fingerprint_empty_input_is_unknown(monkeypatch, capsys):
    assert run(["fingerprint"], b"", monkeypatch) == 0
    assert capsys.readouterr().out == "unknown\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "gopher"],
        ["fingerprint", "-handshakes", "http,gopher"],
        ["fingerprint", "-priorityFingerprint", "gopher"],
    ],
)
def test_unknown_names_exit_2_with_the_valid_names(argv, monkeypatch, capsys):
    assert run(argv, b"x", monkeypatch) == 2
    err = capsys.readouterr().err
    assert "gopher" in err and "http" in err and "zookeeper" in err


def test_handshakes_lists_every_handshake(capsys):
    assert cli.main(["handshakes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(REGISTRY)
    ftp = next(line for line in lines if line.startswith("ftp "))
    http = next(line for line in lines if line.startswith("http "))
    assert "server-first" in ftp and "client-first" in http


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["fingerprint", "--help"])
    assert done.value.code == 0
    assert "-priorityFingerprint" in capsys.readouterr().out


def test_missing_probe_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["probe"])
    assert done.value.code == 2


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - {"tls", "kubernetes"}))
def test_probe_prints_each_handshakes_bytes(name, capsysbinary):
    assert cli.main(["probe", name, "--target", "192.0.2.7"]) == 0
    assert capsysbinary.readouterr().out == REGISTRY[name].probe("192.0.2.7")


@pytest.mark.parametrize("name", ["tls", "kubernetes"])
def test_probe_prints_a_client_hello(name, capsysbinary):
    assert cli.main(["probe", name]) == 0
    hello = capsysbinary.readouterr().out
    assert len(hello) == 122 and hello[:5] == bytes.fromhex("1603010075")


@pytest.mark.parametrize("flags, expected", [([], "rdp"), (["--compat"], "siemens")])
def test_fingerprint_compat_runs_lzrs_rules(flags, expected, monkeypatch, capsys):
    xrdp = "0300 0013 0ed0 0000 1234 0002 0108 0001 0000 00"
    assert run(["fingerprint", "--hex", *flags], xrdp.encode(), monkeypatch) == 0
    assert capsys.readouterr().out == f"{expected}\n"
