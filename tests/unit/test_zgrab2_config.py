"""etc/zgrab2.ini, the `zgrab2 multiple` configuration for -feedZGrab lines: it names only
modules ZGrab2 has, and every label lzr emits is either in a section or listed as unmapped."""
from __future__ import annotations

import json
from pathlib import Path

from lzr.fingerprint import EXTRA_TIE_BREAKS, FIXED_TIE_BREAKS, UNKNOWN
from lzr.handshakes import REGISTRY
from lzr.handshakes.base import never

CONFIG = Path(__file__).resolve().parents[2] / "etc" / "zgrab2.ini"

# ZGrab2's modules as `zgrab2 multiple` sections name them: the command each module registers
# (zmap/zgrab2, modules/*.go). The AMQP module's command is amqp091.
ZGRAB2_MODULES = frozenset({
    "amqp091", "bacnet", "banner", "checkpoint", "codesys2", "dnp3", "drda", "enip", "fox",
    "ftp", "http", "imap", "ipp", "jarm", "managesieve", "memcached", "modbus", "mongodb",
    "mqtt", "mssql", "mysql", "ntp", "omronfins", "oracle", "pop3", "postgres", "pptp", "rdp",
    "redis", "siemens", "smb", "smtp", "socks5", "ssh", "telnet", "tls",
})
# Options of a section besides every module's name, trigger and port.
MODULE_OPTIONS = {"http": {"use-https"}}


def emitted_labels() -> set[str]:
    """Every label a record can carry, except joins of several rules that stay unresolved."""
    with_rules = {name for name, hs in REGISTRY.items() if hs.match is not never}
    assert REGISTRY["tls"].match(bytes.fromhex("15030000020228")) == "ssl"   # SSL 3.0 alert
    tie_breaks = {label for _, label in FIXED_TIE_BREAKS + EXTRA_TIE_BREAKS}
    return with_rules | tie_breaks | {"ssl", UNKNOWN}


def read_config() -> tuple[list[tuple[str, dict[str, str]]], set[str]]:
    """(sections in order, unmapped labels), read the way ZGrab2's ini reader reads it:
    `#` and `;` lines are comments, values in double quotes are Go-quoted strings."""
    sections: list[tuple[str, dict[str, str]]] = []
    unmapped: set[str] = set()
    for number, raw in enumerate(CONFIG.read_text().splitlines(), 1):
        line = raw.strip()
        if line.startswith("# unmapped:"):
            unmapped.update(line.removeprefix("# unmapped:").split())
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            assert line.endswith("]"), f"line {number}: malformed section header"
            sections.append((line[1:-1].strip(), {}))
            continue
        key, eq, value = line.partition("=")
        assert eq and sections, f"line {number}: not key=value in a section"
        value = value.strip()
        sections[-1][1][key.strip()] = json.loads(value) if value.startswith('"') else value
    return sections, unmapped


def test_the_configuration_names_only_zgrab2_modules_and_their_options():
    sections, _ = read_config()
    assert sections[0] == ("Application Options", {})
    names = []
    for module, options in sections[1:]:
        assert module in ZGRAB2_MODULES, f"ZGrab2 has no module {module!r}"
        assert {"name", "trigger"} <= set(options)
        assert set(options) - {"name", "trigger", "port"} <= MODULE_OPTIONS.get(module, set())
        names.append(options["name"])
    assert len(names) == len(set(names)), "ZGrab2 needs a unique name per section"


def test_every_label_is_mapped_or_listed_as_unmapped():
    sections, unmapped = read_config()
    triggers = {options["trigger"] for _, options in sections[1:]}
    labels = emitted_labels()
    assert triggers <= labels, f"triggers no record carries: {triggers - labels}"
    assert unmapped <= labels, f"unmapped labels no record carries: {unmapped - labels}"
    assert not triggers & unmapped
    assert labels - triggers - unmapped == set(), "labels neither mapped nor listed as unmapped"


def test_the_main_protocols_reach_their_own_module():
    sections, _ = read_config()
    module_of = {options["trigger"]: module for module, options in sections[1:]}
    assert module_of["http"] == "http" and module_of["tls"] == "tls"
    assert module_of["ssh"] == "ssh" and module_of["amqp"] == "amqp091"
    assert module_of["memcached_binary"] == module_of["memcached_ascii"] == "memcached"
