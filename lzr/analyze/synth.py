"""Realistic synthetic LZR datasets of any size, with the truth an analysis must find.

The shapes follow the LZR paper's all-port scans of a random sample of IPv4:

* Most records come from a few hosts that answer on (nearly) every port: ACKing firewalls
  (2% of IPs ACK data on more than 60K ports), zero-window SYN proxies (99% of zero-window
  hosts do so on all ports), middleboxes that reset or go silent right after the handshake,
  and pseudo-services that send data on every port.
* The other hosts have a few open ports. On a port that ACKs data, the service is spread far
  from its IANA port: 3.0% of HTTP on 80 (1.2% on 7547, 0.7% on 30005), 6.4% of TLS on 443,
  5.5% of Telnet on 23 (then 5523, 9002, 6002, 8000), 83.1% of AMQP on 5672 (3.1% on 5673);
  the rest of each protocol falls on a Zipf-Mandelbrot tail over all ports, so that HTTP
  needs about 25,000 ports and TLS about 40,000 for 90% coverage. Of the services on 80, 93%
  are HTTP (the rest mostly TLS); of those on 443, 89% are TLS (the rest mostly HTTP).
* Labels by share of services: mostly HTTP and TLS (about 65% and 30% of the unexpected
  ones), then SSH, Telnet, mail, FTP, databases and ICS protocols, and `unknown` data.

Records are written as LZR writes them (field order, omissions, Go's string escapes through
`lzr.output.gojson`), interleaved as a scan's answers arrive: the next record comes from a
host drawn at random among POOL_HOSTS hosts under way. Malformed lines of each kind can
be mixed in at random places. `Truth` holds the counts the analysis must report, tracked as
the records are written (no record is kept), so any size costs the same memory.

Run `python -m lzr.analyze.synth --help` to write a file.
"""
import base64
import bisect
import gzip
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from lzr.argparsing import ExactArgumentParser
from lzr.analyze.ports import PRIMARY_PORTS
from lzr.analyze.tables import PSEUDO_SERVICE_PORTS
from lzr.output.gojson import quote_bytes
from lzr.output.record import Outcome
from lzr.output.timestamps import TimestampFormatter

ALL_PORTS = 65535
SCANNER = "198.51.100.7"
START_NS = 1_597_190_400 * 1_000_000_000        # 2020-08-12, the month of LZR's dataset scan
ZONE_SECONDS = -7 * 3600

# Share of records by the kind of host that answered, for an all-port scan (paper §2-§3 on
# unpopular ports: 40% of SYN-ACKing services never ACK data, of those 26% zero window and 34%
# reset; of the 60% that ACK data, about a fifth send identifiable data).
RECORD_SHARES = {
    "acking_firewall": 0.33,
    "zero_window_everywhere": 0.10,
    "reset_everywhere": 0.13,
    "silent_everywhere": 0.15,
    "pseudo_service": 0.08,
    "few_ports": 0.21,
}
# What one open port of an ordinary host does.
PORT_OUTCOMES = (("service", 0.70), ("reset", 0.12), ("acked_no_data", 0.09),
                 ("zero_window", 0.04), ("silent", 0.03), ("fin", 0.01), ("data_with_reset", 0.01))
OPEN_PORTS = ((1, 0.55), (2, 0.22), (3, 0.1), (4, 0.06), (6, 0.04), (10, 0.02), (14, 0.01))

# Share of services per label, and the busiest ports of each (port, share of the label).
LABELS: dict[str, tuple[float, tuple[tuple[int, float], ...], float, int]] = {
    # label: (share of services, head ports, tail exponent s, tail offset q: the k-th port
    # of the tail weighs (k + q) ** -s)
    "http": (0.52, ((80, 0.030), (7547, 0.012), (30005, 0.007), (8080, 0.006), (8000, 0.004),
                    (443, 0.0038)), 1.1, 100),
    "tls": (0.25, ((443, 0.064), (8443, 0.01), (80, 0.0036), (4433, 0.003)), 0.9, 200),
    "unknown": (0.08, (), 0.6, 20),
    "ssh": (0.05, ((22, 0.52), (2222, 0.05)), 0.9, 20),
    "telnet": (0.02, ((23, 0.055), (5523, 0.03), (9002, 0.025), (6002, 0.02), (8000, 0.018),
                      (2323, 0.01)), 0.9, 20),
    "smtp": (0.012, ((25, 0.45), (587, 0.12), (465, 0.05)), 0.9, 20),
    "ftp": (0.012, ((21, 0.6), (2121, 0.03)), 0.9, 20),
    "imap": (0.006, ((143, 0.5),), 0.9, 20),
    "pop3": (0.006, ((110, 0.5),), 0.9, 20),
    "mysql": (0.007, ((3306, 0.7),), 0.9, 20),
    "redis": (0.003, ((6379, 0.75),), 0.9, 20),
    "dns": (0.005, ((53, 0.6),), 0.9, 20),
    "rdp": (0.004, ((3389, 0.6),), 0.9, 20),
    "vnc": (0.003, ((5900, 0.55), (5901, 0.1)), 0.9, 20),
    "amqp": (0.002, ((5672, 0.831), (5673, 0.031)), 0.9, 20),
    "mongodb": (0.002, ((27017, 0.7),), 0.9, 20),
    "mqtt": (0.002, ((1883, 0.6),), 0.9, 20),
    "pptp": (0.003, ((1723, 0.8),), 0.9, 20),
    "siemens": (0.001, ((102, 0.04),), 0.9, 20),
    "modbus": (0.001, ((502, 0.09),), 0.9, 20),
    "ipmi": (0.001, ((623, 0.01),), 0.9, 20),
}

# A few first segments per label, as a server sends them (the date varies per record).
_HTTP_DATE = "Wed, 12 Aug 2020 {h:02d}:{m:02d}:{s:02d} GMT"
PAYLOADS: dict[str, tuple[str | bytes, ...]] = {
    "http": (
        "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nDate: {date}\r\nContent-Type: text/html\r\n"
        "Content-Length: 150\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request"
        "</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>"
        "nginx</center>\r\n</body>\r\n</html>\r\n",
        "HTTP/1.1 200 OK\r\nDate: {date}\r\nServer: Apache/2.4.29 (Ubuntu)\r\nLast-Modified: "
        "Tue, 02 Jun 2020 08:11:02 GMT\r\nETag: \"2aa6-5a714b1d53f60\"\r\nAccept-Ranges: bytes\r\n"
        "Content-Length: 10918\r\nVary: Accept-Encoding\r\nContent-Type: text/html\r\n\r\n"
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\n<html xmlns="
        "\"http://www.w3.org/1999/xhtml\">\n  <head>\n    <title>Apache2 Ubuntu Default Page: It "
        "works</title>\n",
        "HTTP/1.1 401 Unauthorized\r\nServer: GoAhead-Webs\r\nDate: {date}\r\nWWW-Authenticate: "
        "Digest realm=\"GoAhead\", domain=\":81\",qop=\"auth\", nonce=\"{nonce}\", opaque="
        "\"5ccc069c403ebaf9f0171e9517f40e41\",algorithm=\"MD5\", stale=\"FALSE\"\r\nPragma: "
        "no-cache\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n",
        "HTTP/1.0 302 Redirect\r\nServer: RomPager/4.07 UPnP/1.0\r\nDate: {date}\r\nLocation: "
        "http://192.168.1.1/login.htm\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-"
        "Options: nosniff\r\nDate: {date}\r\nContent-Length: 19\r\n\r\n404 page not found\n",
    ),
    "tls": (
        b"\x15\x03\x01\x00\x02\x02\x28",
        b"\x15\x03\x03\x00\x02\x02\x46",
        b"\x16\x03\x03\x00\x51\x02\x00\x00\x4d\x03\x03" + bytes(range(7, 39)) + b"\x20"
        + bytes(range(90, 122)) + b"\xc0\x2f\x00\x00\x05\xff\x01\x00\x01\x00",
    ),
    "unknown": (
        b"\x00\x00\x00\x0c\xff\xff\xff\xf0\x00\x01\x00\x00",
        "ERROR\r\n",
        b"\x80\x00\x00\x28\x00\x00\x00\x01\x00\x00\x00\x00",
        "?\x00\x01",
    ),
    "ssh": ("SSH-2.0-OpenSSH_7.4\r\n", "SSH-2.0-dropbear_2019.78\r\n",
            "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.1\r\n", "SSH-2.0-ROSSSH\r\n"),
    "telnet": (b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27",
               b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f\r\nlogin: "),
    "smtp": ("220 mail.example.net ESMTP Postfix (Ubuntu)\r\n",
             "220 mx.example.org Microsoft ESMTP MAIL Service ready at {date}\r\n"),
    "ftp": ("220 (vsFTPd 3.0.3)\r\n", "220 ProFTPD Server (ProFTPD) [::ffff:10.0.0.2]\r\n",
            "220-FileZilla Server 0.9.60 beta\r\n"),
    "imap": ("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
             "STARTTLS AUTH=PLAIN] Dovecot (Ubuntu) ready.\r\n",),
    "pop3": ("+OK Dovecot (Ubuntu) ready.\r\n",),
    "mysql": (b"J\x00\x00\x00\n5.7.31-0ubuntu0.18.04.1\x00\x1d\x00\x00\x00\x1a\x0c_\x11\x11"
              b"\x7f\x03\x13\x00\xff\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x00"
              b"\x00\x00\x00&\x16\x1fO\x01+HGo.\x13\x00mysql_native_password\x00",),
    "redis": ("-ERR unknown command 'GET', with args beginning with: '/' \r\n",
              "-NOAUTH Authentication required.\r\n"),
    "dns": (b"\x00\x0c\x12\x34\x81\x82\x00\x00\x00\x00\x00\x00\x00\x00",),
    "rdp": (b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x124\x00\x02\x1f\x08\x00\x02\x00\x00\x00",),
    "vnc": ("RFB 003.008\n", "RFB 003.889\n"),
    "amqp": (b"AMQP\x00\x00\x09\x01",),
    "mongodb": (b"\xb5\x00\x00\x00\x8a\x1b\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x08\x00\x00"
                b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x91\x00"
                b"\x00\x00\x08ismaster\x00\x01\x10maxBsonObjectSize\x00\x00\x00\x00\x01",),
    "mqtt": (b"\x20\x02\x00\x05",),
    "pptp": (b"\x00\x9c\x00\x01\x1a+<M\x00\x02\x00\x00\x01\x00\x01\x00\x00\x00\x00\x03\x00"
             b"\x00\x00\x03\x00\x01\x00\x00linux",),
    "siemens": (b"\x03\x00\x00\x16\x11\xd0\x00\x01\x00\x02\x00\xc0\x01\x0a\xc1\x02\x01\x00"
                b"\xc2\x02\x01\x02",),
    "modbus": (b"\x00\x00\x00\x00\x00\x05\x00\x2b\x0e\x01\x01",),
    "ipmi": (b"\x06\x00\xff\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x81\x1cc \x008\x00"
             b"\x01\x97\x04\x03\x00\x00\x00\x00\t",),
}
WINDOWS = (29200, 65160, 64240, 14600, 5840, 8192, 65535, 28960, 4380)
TTLS = (44, 50, 52, 55, 58, 110, 113, 116, 240, 244)

MALFORMED_KINDS = ("not_json", "missing_fields", "wrong_types")
EVERYWHERE_OUTCOME = {"acking_firewall": "acking_firewall", "zero_window_everywhere": "zero_window",
                      "reset_everywhere": "reset", "silent_everywhere": "silent"}
# Hosts answering at the same time: their records interleave as a scan's answers do.
POOL_HOSTS = 32
WRITE_LINES = 4096


def _counter_dict() -> dict:
    return {"services": 0, "hosts": 0, "ports": set(), "on_iana_port": 0}


@dataclass
class Truth:
    """What `lzr analyze` must report for the generated lines."""

    records: int = 0
    malformed: Counter = field(default_factory=Counter)
    first_malformed_line: int | None = None
    zero_window_records: int = 0
    acking_firewall_records: int = 0
    # Keyed by whether pseudo-service hosts count (False: --exclude-pseudo).
    services: dict = field(default_factory=lambda: {True: 0, False: 0})
    hosts: dict = field(default_factory=lambda: {True: 0, False: 0})
    pseudo_service_hosts: int = 0
    protocols: dict = field(default_factory=lambda: {True: {}, False: {}})
    ports: dict = field(default_factory=lambda: {True: Counter(), False: Counter()})

    def protocol_table(self, include_pseudo: bool = True) -> dict[str, dict[str, int]]:
        """Per label: services, hosts, ports, on_iana_port (plain counts)."""
        return {label: {**entry, "ports": len(entry["ports"])}
                for label, entry in self.protocols[include_pseudo].items()}


class _PortPicker:
    """Draws the port of a service of one label: its head ports, else a Zipf-Mandelbrot tail
    over a label-specific random order of all other ports."""

    def __init__(self, rng: random.Random, head: tuple[tuple[int, float], ...], exponent: float,
                 offset: int):
        self._rng = rng
        self._head_ports = [port for port, _ in head]
        self._head_cumulative = []
        total = 0.0
        for _, share in head:
            total += share
            self._head_cumulative.append(total)
        taken = set(self._head_ports)
        self._tail = [port for port in range(1, ALL_PORTS + 1) if port not in taken]
        rng.shuffle(self._tail)
        weights, running = [], 0.0
        for rank in range(1, len(self._tail) + 1):
            running += (rank + offset) ** -exponent
            weights.append(running)
        self._tail_cumulative = weights

    def pick(self) -> int:
        draw = self._rng.random()
        index = bisect.bisect_right(self._head_cumulative, draw)
        if index < len(self._head_ports):
            return self._head_ports[index]
        point = self._rng.random() * self._tail_cumulative[-1]
        return self._tail[bisect.bisect_right(self._tail_cumulative, point)]


class Generator:
    """Writes LZR records to a binary stream, keeping the `truth`.

    `ports_per_everywhere_host` is how many ports a host that answers everywhere answers on
    (65,535 in a real all-port scan; tests use fewer so that small files hold several such
    hosts). `extended` adds the fields of `lzr --extended` and the exact payload.
    """

    def __init__(self, out: BinaryIO, *, seed: int = 1, ports_per_everywhere_host: int = ALL_PORTS,
                 extended: bool = False, malformed_share: float = 0.0):
        self._out = out
        self._rng = random.Random(seed)
        self._everywhere_ports = max(PSEUDO_SERVICE_PORTS + 1,
                                     min(ALL_PORTS, ports_per_everywhere_host))
        self._extended = extended
        self._malformed_share = malformed_share
        self._pending: list[str] = []
        self._pool: list[Iterator[tuple]] = []
        self._without_services: set[Iterator[tuple]] = set()
        self._lines = 0
        self._time_ns = START_NS
        self._timestamps = TimestampFormatter(ZONE_SECONDS)
        self._next_host = 0
        self._pickers: dict[str, _PortPicker] = {}
        self._payloads = {label: [(quote_bytes(t if isinstance(t, bytes) else t.encode()), t)
                                  for t in templates] for label, templates in PAYLOADS.items()}
        self.truth = Truth()
        kinds = list(RECORD_SHARES)
        per_host = {kind: self._everywhere_ports for kind in kinds}
        per_host["few_ports"] = sum(count * share for count, share in OPEN_PORTS)
        host_weights = [RECORD_SHARES[kind] / per_host[kind] for kind in kinds]
        self._host_kinds = kinds
        self._host_cumulative = _cumulative(host_weights)
        self._label_names = list(LABELS)
        self._label_cumulative = _cumulative([LABELS[label][0] for label in self._label_names])
        self._outcomes = [name for name, _ in PORT_OUTCOMES]
        self._outcome_cumulative = _cumulative([share for _, share in PORT_OUTCOMES])
        self._open_counts = [count for count, _ in OPEN_PORTS]
        self._open_cumulative = _cumulative([share for _, share in OPEN_PORTS])

    # ---- public ---------------------------------------------------------------------------

    def write_records(self, records: int) -> None:
        """Writes until at least `records` records were made; hosts under way are finished."""
        self.write_until(lambda: self.truth.records >= records)

    def write_until(self, done: Callable[[], bool]) -> None:
        """Writes until `done()` is true (asked every few records), then finishes the hosts
        under way that have services, so that the truth stays exact. (Hosts that answer every
        port without data just stop: their records are counted as they are written.)"""
        pool = self._pool
        random = self._rng.random
        while True:
            for _ in range(256):
                while len(pool) < POOL_HOSTS:
                    pool.append(self._host())
                index = int(random() * len(pool))
                answer = next(pool[index], None)
                if answer is None:
                    self._without_services.discard(pool[index])
                    pool[index] = pool[-1]
                    pool.pop()
                else:
                    self._record(*answer)
            if done():
                break
        for host in pool:
            if host not in self._without_services:
                for answer in host:
                    self._record(*answer)
        pool.clear()
        self._without_services.clear()
        self._out.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    # ---- hosts ----------------------------------------------------------------------------

    def _address(self) -> str:
        # Consecutive hosts get addresses spread over 1.0.0.0-223.255.255.255 without repeats
        # (an odd multiplier permutes 24-bit numbers).
        number = self._next_host
        self._next_host += 1
        mixed = (number * 0x9E3779 + 0x5A5A5) & 0xFFFFFF
        first = 1 + (number >> 24) % 223
        return f"{first}.{mixed >> 16}.{(mixed >> 8) & 255}.{mixed & 255}"

    def _choice(self, items):
        return items[int(self._rng.random() * len(items))]

    def _pick(self, cumulative: list[float], names: list):
        return names[min(bisect.bisect_right(cumulative, self._rng.random()), len(names) - 1)]

    def _host(self) -> Iterator[tuple]:
        """A new host: its truth is counted now, its answers (record arguments) come later."""
        kind = self._pick(self._host_cumulative, self._host_kinds)
        address = self._address()
        host = (address, self._choice(WINDOWS), self._choice(TTLS))
        if kind == "few_ports":
            used: set[int] = set()
            answers, services = [], []
            for _ in range(self._pick(self._open_cumulative, self._open_counts)):
                outcome = self._pick(self._outcome_cumulative, self._outcomes)
                label = "unknown"
                if outcome == "service":
                    label = self._pick(self._label_cumulative, self._label_names)
                    port = self._picker(label).pick()
                else:
                    port = 1 + int(self._rng.random() * ALL_PORTS)
                if port in used:
                    continue
                used.add(port)
                if outcome == "service":
                    services.append((port, label))
                answers.append((host, port, outcome, label))
            self._count_services(address, services)
            return iter(answers)
        count = self._rng.randint(int(0.92 * self._everywhere_ports), self._everywhere_ports)
        ports = self._rng.sample(range(1, ALL_PORTS + 1), count)
        if kind == "pseudo_service":
            label = self._choice(("http", "tls", "unknown"))
            self._count_services(address, [(port, label) for port in ports])
            return ((host, port, "service", label) for port in ports)
        outcome = EVERYWHERE_OUTCOME[kind]
        answers = ((host, port, outcome, "unknown") for port in ports)
        self._without_services.add(answers)
        return answers

    def _picker(self, label: str) -> _PortPicker:
        picker = self._pickers.get(label)
        if picker is None:
            _, head, exponent, offset = LABELS[label]
            picker = self._pickers[label] = _PortPicker(self._rng, head, exponent, offset)
        return picker

    def _count_services(self, address: str, services: list[tuple[int, str]]) -> None:
        if not services:
            return
        truth = self.truth
        pseudo = len(services) > PSEUDO_SERVICE_PORTS
        truth.pseudo_service_hosts += pseudo
        for include_pseudo in (True, False):
            if pseudo and not include_pseudo:
                continue
            truth.services[include_pseudo] += len(services)
            truth.hosts[include_pseudo] += 1
            protocols = truth.protocols[include_pseudo]
            for label in {label for _, label in services}:
                protocols.setdefault(label, _counter_dict())["hosts"] += 1
            for port, label in services:
                entry = protocols[label]
                entry["services"] += 1
                entry["ports"].add(port)
                primary = PRIMARY_PORTS.get(label)
                entry["on_iana_port"] += primary is not None and primary.port == port
                truth.ports[include_pseudo][port] += 1

    # ---- records --------------------------------------------------------------------------

    def _record(self, host: tuple[str, int, int], port: int, outcome: str, label: str) -> None:
        address, window, ttl = host
        rng = self._rng
        random = rng.random
        self._time_ns += 20_000 + int(random() * 380_000)
        seq, ack = rng.getrandbits(32), rng.getrandbits(32)
        dport = 32768 + int(random() * 28232)
        syn = rst = fin = push = acked = False
        handshake = 0
        expected = quoted = ""
        payload = b""
        acking_firewall = False
        counter = 0
        if outcome in ("service", "data_with_reset"):
            if outcome == "data_with_reset":   # an HTTP error page sent with RST set
                label = "http"
            quoted, payload = self._payload(label)
            acked, push, expected = True, True, "data"
            handshake = 1 if label == "http" else 0
            rst = outcome == "data_with_reset"
            if rst:
                window = 0
        elif outcome == "zero_window":
            syn, window = True, 0
            self.truth.zero_window_records += 1
        elif outcome == "reset":
            rst, window, acked = True, 0, random() < 0.5
        elif outcome == "fin":
            fin, acked = True, True
        elif outcome == "acked_no_data":
            acked, expected, counter = True, "data", 1
            handshake = 1
        elif outcome == "silent":
            syn, expected, counter = True, "ack", 1
            handshake = 1
        elif outcome == "acking_firewall":
            acking_firewall, acked = True, True
            self.truth.acking_firewall_records += 1
        flag = ("false", "true")
        line = (f'{{"saddr":"{address}","daddr":"{SCANNER}","sport":{port},"dport":{dport},'
                f'"seqnum":{seq},"acknum":{ack},"window":{window},"ttl":{ttl},"Counter":{counter},'
                f'"ACK":true,"ACKed":{flag[acked]},"SYN":{flag[syn]},"RST":{flag[rst]},'
                f'"FIN":{flag[fin]},"PUSH":{flag[push]},"HandshakeNum":{handshake},'
                f'"fingerprint":"{label}","Timestamp":{self._timestamps.quoted(self._time_ns)}')
        if expected:
            line += f',"expectedRToLZR":"{expected}"'
        if quoted:
            line += f',"data":{quoted}'
        if acking_firewall:
            line += ',"ackingFirewall":true'
        if self._extended:
            line += self._extended_fields(outcome, label, payload, handshake)
        pending = self._pending
        pending.append(line + "}\n")
        self.truth.records += 1
        self._lines += 1
        if self._malformed_share and random() < self._malformed_share:
            pending.append(self._malformed())
            self._lines += 1
            if self.truth.first_malformed_line is None:
                self.truth.first_malformed_line = self._lines
        if len(pending) >= WRITE_LINES:
            self._out.write("".join(pending).encode("utf-8"))
            pending.clear()

    def _extended_fields(self, outcome: str, label: str, payload: bytes, handshake: int) -> str:
        named = {"service": Outcome.IDENTIFIED if label != "unknown" else Outcome.UNKNOWN_DATA,
                 "data_with_reset": Outcome.IDENTIFIED, "zero_window": Outcome.ZERO_WINDOW,
                 "reset": Outcome.RST, "fin": Outcome.FIN, "acked_no_data": Outcome.ACKED_NO_DATA,
                 "silent": Outcome.NO_SYNACK, "acking_firewall": Outcome.ACKING_FIREWALL}[outcome]
        tried = handshake + 1
        fields = (f',"handshake":"{("tls", "http")[handshake] if payload else ""}",'
                  f'"handshakesTried":{tried},"identifySeconds":{0.05 * tried},"outcome":"{named}"')
        if payload:
            fields += f',"dataBase64":"{base64.b64encode(payload).decode()}"'
        return fields

    def _payload(self, label: str) -> tuple[str, bytes]:
        """A first segment for `label`: as LZR's JSON string (quoted once per template, the
        date and nonce filled in afterwards: they need no escapes) and, for --extended, its
        bytes."""
        quoted, template = self._choice(self._payloads[label])
        if isinstance(template, bytes):
            return quoted, template
        seconds = self._time_ns // 1_000_000_000
        values = {"date": _HTTP_DATE.format(h=seconds // 3600 % 24, m=seconds // 60 % 60,
                                            s=seconds % 60),
                  "nonce": f"{self._rng.getrandbits(64):016x}"}
        raw = template.format(**values).encode() if self._extended else b""
        return quoted.format(**values), raw

    def _malformed(self) -> str:
        kind = self._choice(MALFORMED_KINDS)
        self.truth.malformed[kind] += 1
        port = 1 + int(self._rng.random() * ALL_PORTS)
        if kind == "not_json":
            return self._choice((
                '{"saddr":"203.0.113.9","daddr":"198.51.100.7","sport":80,"dpo\n',
                "not a record\n",
                '[1, 2, 3]\n'))
        if kind == "missing_fields":
            return (f'{{"saddr":"203.0.113.9","daddr":"{SCANNER}","dport":40000,"window":0,'
                    f'"SYN":true,"RST":false,"fingerprint":"unknown","port":{port}}}\n')
        return (f'{{"saddr":"203.0.113.9","daddr":"{SCANNER}","sport":"{port}","window":512,'
                f'"SYN":false,"RST":false,"fingerprint":"http","data":"HTTP/1.1 200 OK"}}\n')

def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    running, out = 0.0, []
    for weight in weights:
        running += weight / total
        out.append(running)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = ExactArgumentParser(
        prog="python -m lzr.analyze.synth",
        description="Write a realistic synthetic LZR dataset (JSON lines; gzip when FILE ends in "
                    ".gz) shaped after the LZR paper's all-port scans, and print its truth.")
    parser.add_argument("file", metavar="FILE", help="output file ('-' is stdout, plain)")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--records", type=int, metavar="N", help="write at least N records")
    size.add_argument("--bytes", type=float, metavar="B",
                      help="write until FILE holds at least B bytes (compressed for .gz), "
                           "e.g. 5e8")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--everywhere-ports", type=int, default=ALL_PORTS, metavar="N",
                        help="ports a host that answers everywhere answers on (default 65535)")
    parser.add_argument("--extended", action="store_true",
                        help="add --extended fields (handshake, outcome, dataBase64, ...)")
    parser.add_argument("--malformed", type=float, default=0.0, metavar="SHARE",
                        help="mix in malformed lines at this rate per record (e.g. 0.001)")
    parser.add_argument("--level", type=int, default=6, help="gzip level (default 6, gzip's)")
    args = parser.parse_args(argv)

    if args.file == "-":
        stream, raw = sys.stdout.buffer, None
    elif args.file.endswith(".gz"):
        raw = open(args.file, "wb")
        stream = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=args.level, mtime=0)
    else:
        raw = stream = open(args.file, "wb")
    generator = Generator(stream, seed=args.seed, ports_per_everywhere_host=args.everywhere_ports,
                          extended=args.extended, malformed_share=args.malformed)
    try:
        if args.records is not None:
            generator.write_records(args.records)
        else:
            target = raw if raw is not None else stream
            generator.write_until(lambda: target.tell() >= args.bytes)
    finally:
        if stream is not sys.stdout.buffer:
            stream.close()
        if raw is not None and raw is not stream:
            raw.close()
    truth = generator.truth
    print(f"records {truth.records}, services {truth.services[True]}, hosts {truth.hosts[True]}, "
          f"pseudo-service hosts {truth.pseudo_service_hosts}, zero-window records "
          f"{truth.zero_window_records}, ACKing-firewall records {truth.acking_firewall_records}, "
          f"malformed lines {sum(truth.malformed.values())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
