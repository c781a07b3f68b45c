"""LZR's rules as docs/lzr-reference.md §3.1 words them, against ours on generated responses.

Our rules are written for speed (fixed bytes before searching, `find` instead of `in`, one
case fold per response); these transcriptions follow the table's wording line by line, so
any drift from LZR's meaning shows up here.
"""
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lzr.handshakes import LZR_NAMES, REGISTRY

CODES = (b"220", b"421", b"530", b"550", b"230")


def ascii_only(d):
    return all(b < 0x80 for b in d)


def ftp(d):
    if d and ascii_only(d):
        if b"ftp" in d.lower():
            return "ftp"
        if len(d) >= 4 and d[:3] in CODES and b"smtp" not in d.lower() and b"ehlo" not in d.lower():
            return "ftp"


def imap(d):
    if not d or not ascii_only(d) or d.startswith(b"+OK") or d.startswith(b"-ERR"):
        return None
    if d.startswith(b"* OK") or d.startswith(b"* BYE") or d.startswith(b"* PREAUTH"):
        return "imap"
    if b"imap" in d.lower() or b"* OK" in d:
        return "imap"


def pop3(d):
    if not d or not ascii_only(d):
        return None
    if d.startswith(b"* OK") or d.startswith(b"* BYE") or d.startswith(b"* PREAUTH"):
        return None
    if d.startswith(b"+OK") or d.startswith(b"-ERR"):
        return "pop3"
    if b"pop3" in d.lower() or b"+OK" in d:
        return "pop3"


def smtp(d):
    if b"smtp" in d.lower() or b"ehlo" in d.lower():
        return "smtp"
    if len(d) >= 4 and d[:3] in CODES and b"ftp" not in d.lower():
        return "smtp"


def tls(d):
    if len(d) < 3:
        return None
    if b"HTTPS" in d:
        return "tls"
    if d[0] in (0x14, 0x15, 0x16, 0x17):
        if d[1:3] in (b"\x03\x01", b"\x03\x02", b"\x03\x03", b"\x03\x04"):
            return "tls"
        if d[1:3] == b"\x03\x00":
            return "ssl"


LZR_RULES = {
    "amqp": lambda d: "amqp" if b"AMQP" in d else None,
    "bgp": lambda d: "bgp" if len(d) >= 16 and all(b == 0xFF for b in d[:16]) else None,
    "dnp3": lambda d: "dnp3" if len(d) >= 10 and d[0] == 0x05 and d[1] == 0x64 else None,
    "dns": lambda d: "dns" if b"stackoverflow" in d else None,
    "fox": lambda d: "fox" if d.startswith(b"fox a 0 -1 fox hello") else None,
    "ftp": ftp,
    "http": lambda d: "http" if b"HTTPS" not in d and (
        b"HTTP" in d or b"html" in d or b"HTML" in d or b"<h1>" in d) else None,
    "imap": imap,
    "ipmi": lambda d: "ipmi" if d == bytes.fromhex("0000000209000000010000000000000000") or (
        len(d) >= 4 and d[:4] == b"\x06\x00\xff\x07") else None,
    "ipp": lambda d: "ipp" if b"ipp" in d and b"200 OK" in d and (
        b"attributes-charset" in d or b"print" in d) else None,
    "kubernetes": lambda d: "kubernetes" if b"kubernetes" in d else None,
    "memcached_ascii": lambda d: "memcached_ascii" if b"STAT" in d and b"pid" in d else None,
    "memcached_binary": lambda d: "memcached_binary" if len(d) >= 1 and (
        d[0] == 0x81 or b"ERROR\r\n" in d) else None,
    "modbus": lambda d: "modbus" if len(d) >= 4 and d[:4] == b"\x5a\x47\x00\x00" else None,
    "mongodb": lambda d: "mongodb" if b"maxBsonObjectSize" in d or b"MongoDB" in d else None,
    "mqtt": lambda d: "mqtt" if len(d) == 4 and d[0] == 0x20 and d[3] <= 5 else None,
    "mssql": lambda d: "mssql" if len(d) >= 6 and d[0] == 0x04 and d[1] == 0x01 else None,
    "mysql": lambda d: "mysql" if len(d) >= 49 and d[3] == 0x00 and d[4] == 0x0A else None,
    "newlines": lambda d: None,
    "newlines50": lambda d: None,
    "oracle": lambda d: "oracle" if b"DESCRIPTION=(" in d and b"(EMFI=4)" in d else None,
    "pop3": pop3,
    "postgres": lambda d: "postgres" if len(d) == 1 and d in (b"N", b"S", b"E") else None,
    "pptp": lambda d: "pptp" if b"+<M" in d else None,
    "rdp": lambda d: "rdp" if len(d) >= 11 and d[:10] == bytes.fromhex(
        "030000130ed0feca1234") else None,
    "redis": lambda d: "redis" if (len(d) == 7 and b"PONG" in d) or b"Redis" in d or (
        b"-ERR unknown" in d) else None,
    "rtsp": lambda d: "rtsp" if b"RTSP" in d else None,
    "siemens": lambda d: "siemens" if len(d) >= 6 and d[4] + 1 == len(d) - 4 and (
        d[5] == 0xD0) else None,
    "smb": lambda d: "smb" if b"SMB" in d else None,
    "smtp": smtp,
    "ssh": lambda d: "ssh" if d and ascii_only(d) and b"ssh" in d.lower() and (
        b"not implemented" not in d.lower() and b"bad" not in d.lower()) else None,
    "telnet": lambda d: "telnet" if len(d) >= 2 and (
        b"telnet" in d.lower() or d[1] in (0xFF, 0xFE, 0xFD, 0xFC, 0xFB)) else None,
    "tls": tls,
    "vnc": lambda d: "vnc" if b"RFB" in d else None,
    "wait": lambda d: None,
    "x11": lambda d: None,
}

CORPUS = [path.read_bytes() for path in sorted(
    (Path(__file__).resolve().parents[1] / "data" / "responses").glob("*/*.bin")
)]
# Pieces the rules look for, so that generated responses reach their branches.
PIECES = [b"HTTP", b"HTTPS", b"html", b"<h1>", b"ipp", b"200 OK", b"print", b"STAT", b"pid",
          b"ERROR\r\n", b"+OK", b"-ERR", b"* OK", b"* BYE", b"220 ", b"FTP", b"SMTP", b"EHLO",
          b"ssh", b"BAD", b"TELNET", b"\xff\xfd", b"\x16\x03\x03", b"\x15\x03\x00", b"PONG",
          b"Redis", b"-ERR unknown", b"\x81", b"\x20\x02\x00\x05", b"N", b"RFB", b"+<M"]

responses = st.one_of(
    st.binary(max_size=64),
    st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=4)), max_size=6).map(b"".join),
    st.sampled_from(CORPUS),
    st.tuples(st.sampled_from(CORPUS), st.integers(0, 80)).map(lambda pair: pair[0][:pair[1]]),
)


def test_every_lzr_rule_is_transcribed():
    assert set(LZR_RULES) == set(LZR_NAMES)


@settings(max_examples=500, deadline=None)
@given(responses)
@example(b"HTTPS")
@example(b"\x16\x03\x00HTTPS")
@example(b"220 ftp\x80")
def test_our_rules_agree_with_the_reference_wording(data):
    for name, rule in LZR_RULES.items():
        assert (REGISTRY[name].lzr_match or REGISTRY[name].match)(data) == rule(data), name
