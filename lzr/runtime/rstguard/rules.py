"""The RST guard's rule text: pure functions from mode and addresses to iptables argv.

Every rule carries a comment ``lzr-rstguard pid=<pid> start=<process start time>``; a rule
whose process is gone (see lzr.runtime.process_identity) is stale, and `stale_rule_deletions`
turns an `iptables -S OUTPUT` listing into the commands that remove such rules.
"""
from __future__ import annotations

import ipaddress
import shlex
from typing import Callable

MODES = ("source-ip", "source-ports", "nfqueue")
COMMENT_PREFIX = "lzr-rstguard"
DEFAULT_NFQUEUE_NUM = 7117


class RstGuardError(RuntimeError):
    """The guard cannot be installed or removed; the message says what to do."""


def iptables_binary(version: int) -> str:
    """The command that manages rules for this IP version."""
    if version not in (4, 6):
        raise ValueError(f"IP version must be 4 or 6, not {version!r}")
    return "iptables" if version == 4 else "ip6tables"


def rule_comment(pid: int, start_time: int) -> str:
    return f"{COMMENT_PREFIX} pid={pid} start={start_time}"


def lzr_rule(source_ip: str) -> list[str]:
    """LZR's rule (its Makefile) as an argv, for reference and comparison."""
    version = ipaddress.ip_address(source_ip).version
    return [iptables_binary(version), "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST",
            "-s", source_ip, "-j", "DROP"]


def rule_spec(mode: str, source_ip: str, comment: str, local_ports: range | None = None,
              nfqueue_num: int = DEFAULT_NFQUEUE_NUM) -> list[str]:
    """The match and target of the guard's rule, without command and chain.

    For ``source-ip`` this is LZR's rule with the comment match inserted before the target.
    """
    if mode not in MODES:
        raise ValueError(f"unknown RST guard mode {mode!r}; choose one of {', '.join(MODES)}")
    ipaddress.ip_address(source_ip)
    spec = ["-p", "tcp", "--tcp-flags", "RST", "RST", "-s", source_ip]
    if mode == "source-ports" or (mode == "nfqueue" and local_ports is not None):
        spec += ["--sport", port_range_text(local_ports)]
    spec += ["-m", "comment", "--comment", comment]
    if mode == "nfqueue":
        spec += ["-j", "NFQUEUE", "--queue-num", str(nfqueue_num), "--queue-bypass"]
    else:
        spec += ["-j", "DROP"]
    return spec


def port_range_text(ports: range | None) -> str:
    """`range(40000, 41000)` -> "40000:40999" (iptables' inclusive form)."""
    if ports is None or len(ports) == 0 or ports.step != 1:
        raise ValueError("local_ports must be a non-empty range with step 1")
    if ports.start < 1 or ports.stop - 1 > 65535:
        raise ValueError(f"local ports {ports.start}..{ports.stop - 1} are outside 1..65535")
    return f"{ports.start}:{ports.stop - 1}"


def add_command(version: int, spec: list[str]) -> list[str]:
    return [iptables_binary(version), "-w", "-A", "OUTPUT", *spec]


def delete_command(version: int, spec: list[str]) -> list[str]:
    return [iptables_binary(version), "-w", "-D", "OUTPUT", *spec]


def parse_comment(rule_line: str) -> tuple[int, int] | None:
    """(pid, start time) of a guard rule line of `iptables -S`, None for other rules."""
    tokens = shlex.split(rule_line)
    for index, token in enumerate(tokens[:-1]):
        if token == "--comment" and tokens[index + 1].startswith(COMMENT_PREFIX + " "):
            fields = dict(part.split("=", 1) for part in tokens[index + 1].split()[1:] if "=" in part)
            try:
                return int(fields["pid"]), int(fields["start"])
            except (KeyError, ValueError):
                return None
    return None


def stale_rule_deletions(version: int, listing: str, is_alive: Callable[[int, int], bool]) -> list[list[str]]:
    """Commands deleting the guard rules in an `iptables -S OUTPUT` listing whose run is gone."""
    commands = []
    for line in listing.splitlines():
        if not line.startswith("-A OUTPUT "):
            continue
        owner = parse_comment(line)
        if owner is not None and not is_alive(*owner):
            commands.append(delete_command(version, shlex.split(line)[2:]))
    return commands
