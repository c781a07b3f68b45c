"""The command line: LZR's flag forms, validation up front, exit 2 naming the flag (no root
needed: nothing here sends a packet)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lzr.cli import parse_args
from lzr.config import DRYRUN, RANGES, SYNS, ZMAP, UsageError


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lzr.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_go_flag_forms_and_lzr_defaults():
    cfg = parse_args(["--handshakes=wait,http", "-sendSYNs=true", "-t", "2.5", "--rt=1",
                      "-gatewayMac", "02:00:00:00:00:01", "-forceAllHandshakes", "-haf", "3"])
    assert cfg.handshakes == ("wait", "http") and cfg.mode == SYNS
    assert (cfg.timeout, cfg.retransmit_after, cfg.retries, cfg.cooldown) == (2.5, 1.0, 1, 8.0)
    assert cfg.engine_config().haf == 0     # force mode turns HAF off, as LZR does
    assert parse_args([]).mode == ZMAP
    assert (parse_args([]).host_rate, parse_args(["--host-rate", "0"]).host_rate) == (20.0, 0.0)
    assert parse_args(["-dryrun"]).mode == DRYRUN
    assert parse_args(["--targets", "192.0.2.0/24", "--ports", "80,8000-8002"]).ports == (
        80, 8000, 8001, 8002)
    assert parse_args(["--targets", "192.0.2.0/24", "--ports", "80"]).mode == RANGES


@pytest.mark.parametrize("args, flag", [
    (["-rate", "0"], "-rate"),
    (["-hafThreshold", "1.5"], "-hafThreshold"),
    (["-handshakes", "http,gopher"], "-handshakes"),
    (["-gatewayMac", "02:00:00"], "-gatewayMac"),
    (["-sourceIP", "2001:db8::1"], "-sourceIP"),
    (["--targets", "192.0.2.1/24", "--ports", "80"], "--targets"),
    (["--targets", "192.0.2.0/24"], "--ports"),
    (["--targets", "192.0.2.0/24", "--ports", "80", "--shards", "2"], "--seed"),
    (["--targets", "192.0.2.0/24", "--ports", "80", "--shards", "2", "--seed", "1",
      "--shard", "2"], "--shard"),
    (["-sendSYNs", "--checkpoint", "x"], "--checkpoint"),
    (["-feedZGrab", "-f", "-"], "-feedZGrab"),
    (["-sendSYNs=perhaps"], "-sendSYNs"),
    (["--host-rate", "-1"], "--host-rate"),
    (["--feed-zgrab-unknown"], "--feed-zgrab-unknown"),
    (["--metadata-file", "no-such-directory/scan.meta.json"], "--metadata-file"),
    (["--status-updates-file", "no-such-directory/scan.csv"], "--status-updates-file"),
])
def test_bad_values_are_usage_errors_naming_the_flag(args, flag):
    with pytest.raises(UsageError) as raised:
        parse_args(args)
    assert raised.value.flag == flag
    result = run(*args)
    assert result.returncode == 2
    assert f"lzr: {flag}" in result.stderr


@pytest.mark.parametrize("args, warned", [
    (["-sendSYNs", "-c", "3"], True),
    (["-sendSYNs", "-c", "3", "--compat"], False),
    (["-c", "3"], False),                       # ZMap input: the cooldown applies
    (["-sendSYNs"], False),                     # not asked for: nothing to say
])
def test_a_cooldown_that_cannot_apply_is_reported(args, warned, capsys):
    cfg = parse_args(args)
    assert cfg.cooldown == (3.0 if "-c" in args else 8.0)
    assert ("-c has no effect" in capsys.readouterr().err) is warned


def test_unknown_flag_exits_2():
    result = run("-bogus")
    assert result.returncode == 2 and "-bogus" in result.stderr


def test_print_targets_reports_and_counts_bad_lines_and_blocked_targets():
    stdin = "192.0.2.1;80\nnot a target\n[2001:db8::1]:80\n10.1.2.3:22\n198.51.100.9;65536\n"
    result = run("-sendSYNs", "--print-targets", stdin=stdin)
    assert result.returncode == 0
    assert result.stdout == ""          # both good targets are in reserved ranges
    # The IPv6 target is malformed in an IPv4 scan; 65536 is no port.
    assert "line 2" in result.stderr and "line 3" in result.stderr and "line 5" in result.stderr
    allowed = run("-sendSYNs", "--print-targets", "--allow-reserved", stdin=stdin)
    assert allowed.stdout.split() == ["192.0.2.1;80", "10.1.2.3;22"]


def test_the_zgrab_feed_keeps_unknown_only_when_asked_or_as_lzr():
    assert not parse_args(["-feedZGrab"]).feed_zgrab_unknown
    assert parse_args(["-feedZGrab", "--feed-zgrab-unknown"]).feed_zgrab_unknown
    assert parse_args(["-feedZGrab", "--compat"]).feed_zgrab_unknown
    assert not parse_args(["--compat"]).feed_zgrab_unknown
