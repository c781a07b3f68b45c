"""Identification beyond LZR, end to end: `lzr -sendSYNs -handshakes all` in the emulated
network names every service.

The population is a `catalogue`: one service per protocol on a random high port, three to a
host, so the hosts' connection cap (`--per-host-limit`, default `--parallel`) is shared by
several targets. It holds the three kinds of service that cost LZR its misses:

* server-first banners (ssh, ftp, smtp, ...), named by `wait`;
* binary servers that stay silent until they get their own probe (dns, pjl, smb), each
  holding its connections open on every other probe;
* a server that answers the HTTP GET with a short message no rule knows: h2c sends an
  HTTP/2 GOAWAY to anything that is not the HTTP/2 preface. LZR stops at that answer;
  we must go on and send the h2c probe. RDP, a case of the same kind, is in the population
  too: it closes on a GET and must still be sent its X.224 request.

How long identification takes is a figure of bench/identify.py, not a test: tests never
assert on wall time.
"""
from __future__ import annotations

import pytest

from lzr.handshakes import DEFAULT_ORDER, REGISTRY
from lzr_sim.manifest import from_dict
from lzr_sim.population import catalogue

pytestmark = pytest.mark.mininet

TIMEOUT = 2           # -t, seconds

# Grouped three to a host by `catalogue`, in this order: each host has a banner service and
# two client-first ones; the three servers that stay silent to other protocols' probes
# (dns, pjl, smb) are on different hosts.
PROTOCOLS = [
    "ssh", "http", "dns",
    "ftp", "tls", "pjl",
    "smtp", "h2c", "mqtt",
    "imap", "rdp", "postgres",
    "vnc", "siemens", "mssql",
    "mysql", "oracle", "mongodb",
    "telnet", "pptp", "modbus",
    "nntp", "smb", "socks5",
    "rsync", "ldap", "git",
]

H2C_ADDRESS, H2C_PORT = "198.18.0.10", 47311
# HTTP/2 frame types (RFC 9113 §6), the 4th byte of a frame header.
SETTINGS, GOAWAY = 0x04, 0x07


def scan_flags(*extra: str) -> list[str]:
    return ["-handshakes", "all", "--extended", "-t", str(TIMEOUT), "-q", *extra]


def records_by_target(records: list[dict]) -> dict[tuple[str, int], list[dict]]:
    found: dict[tuple[str, int], list[dict]] = {}
    for record in records:
        found.setdefault((record["saddr"], record["sport"]), []).append(record)
    return found


def test_handshakes_all_names_every_service(sim_network):
    manifest = catalogue(PROTOCOLS, seed=1)
    assert len(manifest.protocols()) >= 15
    net = sim_network(manifest=manifest)
    records = records_by_target(net.scan(scan_flags()))

    wrong = []
    for address, port, service in manifest.targets():
        found = records.get((address, port), [])
        if len(found) != 1:
            wrong.append(f"{service.protocol} {address}:{port}: {len(found)} records")
            continue
        record = found[0]
        if record["fingerprint"] != service.protocol:
            wrong.append(f"{service.protocol} {address}:{port}: named {record['fingerprint']!r} "
                         f"by handshake {record.get('handshake')!r} ({record['HandshakeNum']})")
            continue
        # Provenance: the handshake that named it, and how many were started by then.
        assert record["handshake"] in REGISTRY, record
        assert record["handshakesTried"] > record["HandshakeNum"], record
        assert record["identifySeconds"] >= 0, record

    assert not wrong, "services not named right:\n" + "\n".join(wrong)

    # The GOAWAY answer to GET did not end the h2c target: its own probe named it, and the
    # record is that answer (the server's SETTINGS), not the first data.
    (h2c,) = [records[(a, p)][0] for a, p, s in manifest.targets() if s.protocol == "h2c"]
    assert (h2c["handshake"], h2c["HandshakeNum"]) == ("h2c", DEFAULT_ORDER.index("h2c"))
    assert ord(h2c["data"][3]) == SETTINGS, h2c["data"]


H2C_ONLY = from_dict({"version": 1, "topology": "routed", "hosts": [
    {"name": "h1", "address": H2C_ADDRESS, "node": "h1", "services": [
        {"port": H2C_PORT, "protocol": "h2c", "expect": {"fingerprint": "h2c"}},
    ]},
]})


def test_compat_stops_at_the_first_unknown_answer(sim_network):
    """With --compat a short unknown answer ends the target, as in LZR: the h2c server's
    GOAWAY to the HTTP GET is written as `unknown` and the h2c probe is never sent."""
    net = sim_network(manifest=H2C_ONLY)

    (named,) = net.scan(scan_flags())
    assert (named["fingerprint"], named["handshake"]) == ("h2c", "h2c")

    (compat,) = net.scan(scan_flags("--compat"))
    http = DEFAULT_ORDER.index("http")
    assert compat["fingerprint"] == "unknown"
    assert (compat["handshake"], compat["HandshakeNum"]) == ("http", http)
    assert compat["handshakesTried"] == http + 1    # one at a time, none after the answer
    assert ord(compat["data"][3]) == GOAWAY, compat["data"]


MISNAMED_BY_OTHER_PROBES = ("redis", "memcached_ascii", "enip")


def test_answers_to_other_protocols_probes_do_not_misname(sim_network):
    """Redis, a memcached text server and an EtherNet/IP adapter answer the GET or the
    ClientHello with replies only generic rules claim (pop3, memcached_binary, ssl): those
    labels stay provisional and the other handshakes go on until a credible answer names
    each service right (Redis's answer to the ClientHello already does)."""
    manifest = catalogue(["ftp", *MISNAMED_BY_OTHER_PROBES, "vnc", "http"], seed=2)
    net = sim_network(manifest=manifest)
    records = records_by_target(net.scan(scan_flags()))
    wrong = []
    for address, port, service in manifest.targets():
        found = [r["fingerprint"] for r in records.get((address, port), [])]
        if found != [service.protocol]:
            wrong.append(f"{service.protocol} {address}:{port}: {found}")
    assert not wrong, "services not named right:\n" + "\n".join(wrong)
