"""Fingerprinting: the vectors of docs/lzr-reference.md §3.2, each tie-break step on its
own, bounded input."""
import pytest

from lzr.fingerprint import (
    FIXED_TIE_BREAKS, INSPECT_LIMIT, fingerprint, labels, resolve, sure_labels,
)
from lzr.handshakes import LZR_NAMES, REGISTRY
from lzr.handshakes.base import never

RDP_CONFIRM = bytes.fromhex("030000130ed0feca12340002 1f080002000000".replace(" ", ""))
IPP_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n\r\n"
    b"\x01\x01\x00\x00attributes-charset utf-8 ipp print"
)
KUBERNETES_REPLY = b'HTTP/1.1 200 OK\r\n\r\n{"kind":"Status","message":"kubernetes"}'

# (data, requested handshakes, label) from docs/lzr-reference.md §3.2.
LZR_VECTORS = [
    (b"", ["http"], "unknown"),
    (b"", ["tls", "ftp"], "unknown"),
    (b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n<html>", ["http"], "http"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\nThis port speaks HTTPS", ["http"], "tls"),
    (b"SSH-2.0-OpenSSH_8.9p1\r\n", ["http"], "ssh"),
    (b"220 mail.example.com ESMTP Postfix\r\n", ["http"], "smtp"),
    (b"220 Welcome\r\n", ["http"], "smtp-ftp"),
    (b"220 Welcome\r\n", ["ftp", "http"], "ftp"),
    (b"220 (vsFTPd 3.0.3)\r\n", ["http"], "ftp"),
    (b"+OK Dovecot ready.\r\n", ["http"], "pop3"),
    (b"* OK [CAPABILITY IMAP4rev1] ready\r\n", ["http"], "imap"),
    (bytes.fromhex("fffd18fffd20"), ["http"], "telnet"),
    (b"\xff" * 16 + bytes.fromhex("0015030601"), ["http"], "bgp"),
    (bytes.fromhex("160303005d0200"), ["http"], "tls"),
    (bytes.fromhex("15030000020228"), ["http"], "ssl"),
    (b"RFB 003.008\n", ["http"], "vnc"),
    (b"-ERR unknown command\r\n", ["http"], "pop3-redis"),
    (b"+PONG\r\n", ["http"], "redis"),
    (b"N", ["http"], "postgres"),
    (bytes.fromhex("20020000"), ["http"], "mqtt"),
    (IPP_REPLY, ["http"], "http"),
    (IPP_REPLY, ["ipp"], "ipp"),
    (KUBERNETES_REPLY, ["http"], "http"),
    (KUBERNETES_REPLY, ["tls"], "kubernetes"),
    (b"HTTP/1.1 400 Bad Request\r\nRTSP", ["tls"], "http-rtsp"),
    (RDP_CONFIRM, ["http"], "rdp-siemens"),
    (RDP_CONFIRM, ["rdp"], "rdp"),
]


@pytest.mark.parametrize("data,requested,expected", LZR_VECTORS)
def test_lzr_vectors(data, requested, expected):
    assert fingerprint(data, requested, compat=True) == expected


def test_joined_labels_follow_name_order():
    assert labels(b"220 Welcome\r\n") == ["ftp", "smtp"]
    assert labels(b"\xff" * 16 + b"\x00\x15\x03\x06\x01") == ["bgp", "telnet"]
    assert labels(RDP_CONFIRM, compat=True) == ["rdp", "siemens"]


def test_an_rdp_negotiation_answer_is_rdp_whatever_the_priority():
    # LZR's generic COTP rule also names it siemens, and with a list that puts siemens
    # first (or neither) LZR says siemens (or rdp-siemens); ours see an RDP server.
    assert labels(RDP_CONFIRM) == ["rdp"]
    assert fingerprint(RDP_CONFIRM, ["siemens", "rdp"]) == "rdp"
    assert fingerprint(RDP_CONFIRM, ["siemens", "rdp"], compat=True) == "siemens"
    assert fingerprint(RDP_CONFIRM, ["http"], compat=True) == "rdp-siemens"


def test_priority_is_a_substring_test_in_list_order():
    assert resolve("ftp-smtp", ["http", "smtp", "ftp"]) == "smtp"
    assert resolve("ftp-smtp", ["ftp", "smtp"]) == "ftp"
    # LZR compares names as substrings of the joined labels, not as whole labels.
    assert resolve("memcached_binary-x", ["memcached"]) == "memcached"


def test_priority_names_that_are_absent_fall_through_to_fixed_rules():
    assert resolve("ftp-smtp", ["http", "tls"]) == "smtp-ftp"


@pytest.mark.parametrize(
    "joined,expected",
    [
        ("ftp-smtp", "smtp-ftp"),
        ("bgp-telnet", "bgp"),
        ("pop3-smtp", "smtp"),
        ("http-ipp", "ipp"),
        ("http-kubernetes", "kubernetes"),
        ("dns-http", "http"),
        ("http-ssh", "http"),
        ("ftp-http", "http"),
        ("ftp-ssh", "ssh"),
        ("http-tls", "tls"),
    ],
)
def test_each_fixed_rule_alone(joined, expected):
    assert resolve(joined, []) == expected


def test_fixed_rules_apply_first_match_first():
    # smtp and ipp both present: the smtp rule comes first.
    assert resolve("ipp-smtp", []) == "smtp"
    # smtp, ftp and http: smtp-ftp wins over ftp+http.
    assert resolve("ftp-http-smtp", []) == "smtp-ftp"
    assert [result for _, result in FIXED_TIE_BREAKS][:2] == ["smtp-ftp", "bgp"]


def test_unresolved_joins_stay_joined():
    assert resolve("pop3-redis", []) == "pop3-redis"


def test_no_match_is_unknown():
    assert fingerprint(b"\x00\x01\x02\x03 nothing to see", ["http"]) == "unknown"


def test_rules_see_only_the_inspected_prefix():
    assert fingerprint(b"x" * INSPECT_LIMIT + b"SSH-2.0-OpenSSH_9.2\r\n", []) == "unknown"
    assert fingerprint(b"x" * (INSPECT_LIMIT - 25) + b"SSH-2.0-OpenSSH_9.2\r\n", []) == "ssh"


def test_megabytes_of_input_are_named():
    assert fingerprint(b"HTTP/1.1 200 OK\r\n" + b"a" * 5_000_000, ["http"]) == "http"


def test_accepts_bytearray_and_memoryview():
    assert fingerprint(bytearray(b"RFB 003.008\n"), []) == "vnc"
    assert fingerprint(memoryview(b"RFB 003.008\n"), []) == "vnc"


def test_new_rules_stay_silent_on_lzrs_vectors():
    new = [hs for name, hs in REGISTRY.items() if name not in LZR_NAMES]
    for data, _, _ in LZR_VECTORS:
        assert [hs.name for hs in new if hs.match(data)] == []


def test_no_label_is_part_of_another():
    # The tie-break tests names as substrings of the joined labels (LZR's way), so a label
    # inside another would let one stand in for the other.
    rule_labels = {name for name, hs in REGISTRY.items() if hs.match is not never} | {"ssl"}
    for label in rule_labels:
        assert [other for other in rule_labels if other != label and label in other] == []


def test_rules_called_directly_on_a_changing_bytearray():
    data = bytearray(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert REGISTRY["ssh"].match(data) == "ssh"
    data[:] = b"HTTP/1.1 200 OK\r\n"
    assert REGISTRY["ssh"].match(data) is None


# ---- sure and provisional labels ----------------------------------------------------------

REDIS_ERR_TO_GET = b"-ERR wrong number of arguments for 'get' command\r\n"


@pytest.mark.parametrize("data, sent, sure", [
    (REDIS_ERR_TO_GET, "http", []),                 # only the generic pop3 rule claims it
    (REDIS_ERR_TO_GET, "wait", ["pop3"]),            # unprompted: a banner names it
    (b"+OK POP3 ready\r\n", "pop3", ["pop3"]),
    (bytes.fromhex("15030000020228"), "tls", []),    # ssl is not even the tls probe's own
    (bytes.fromhex("160303005d0200"), "kubernetes", ["tls"]),   # the same ClientHello
    (b"SSH-2.0-OpenSSH_9.2\r\n", "tls", ["ssh"]),    # a distinctive label, whatever the probe
])
def test_sure_labels(data, sent, sure):
    assert sure_labels(labels(data), REGISTRY[sent]) == sure


def test_a_cotp_confirm_without_parameters_is_not_an_s7_plc():
    # An RDP server's answer to the S7 Connection Request: a bare COTP Connection Confirm.
    bare = bytes.fromhex("0300000b06d00004123400")
    s7 = bytes.fromhex("0300001611d00004000100c1020100c2020200c0010a")
    assert labels(bare) == [] and labels(bare, compat=True) == ["siemens"]
    assert labels(s7) == labels(s7, compat=True) == ["siemens"]


def test_http_from_another_protocols_probe_is_provisional():
    # Redis quoting the h2c preface (LZR: http, by the -handshakes all order); nginx on a TLS
    # port answering a DNS query with a plain HTTP error.
    redis = b"-ERR unknown command 'PRI', with args beginning with: '*' 'HTTP/2.0' \r\n"
    nginx = b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n"
    assert labels(redis) == ["http", "pop3", "redis"]
    assert sure_labels(labels(redis), REGISTRY["h2c"]) == ["redis"]
    assert sure_labels(labels(nginx), REGISTRY["dns"]) == []
    assert sure_labels(labels(nginx), REGISTRY["http"]) == ["http"]
