"""TLS 1.2 ClientHello.

The 122 bytes of LZR's hello (docs/lzr-reference.md §3.3): TLS 1.0 record version,
client version TLS 1.2, 13 ECDHE/RSA suites, no session id, no SNI, extensions
status_request, supported groups P-256/P-384/P-521, EC point formats, signature algorithms and
renegotiation info. Only the 32 random bytes (RFC 5246 §7.4.1.2) change per probe; they come
from the scan's seeded random source.

The rule is LZR's (§3.1): a TLS record header with a TLS version names `tls`, with SSL 3.0
`ssl`; a plain-text reply that mentions HTTPS (an HTTP server telling us to use TLS) is `tls`.
"""
from random import Random, SystemRandom

from lzr.handshakes.base import Handshake, Needs, contains

RECORD_HEADER = bytes.fromhex("1603010075")
HELLO_HEADER = bytes.fromhex("010000710303")
AFTER_RANDOM = bytes.fromhex(
    "00"  # empty session id
    "001a" "c02fc02bc011c007c013c009c014c00a0005002f0035c012000a"  # cipher suites
    "0100"  # one compression method: null
    "002e"  # extensions
    "000500050100000000"  # status_request
    "000a00080006001700180019"  # supported groups
    "000b00020100"  # EC point formats: uncompressed
    "000d000a00080401040302010203"  # signature algorithms
    "ff01000100"  # renegotiation info
)
RANDOM_OFFSET = len(RECORD_HEADER) + len(HELLO_HEADER)
RANDOM_LENGTH = 32

RECORD_TYPES = (0x14, 0x15, 0x16, 0x17)  # change_cipher_spec, alert, handshake, app data
TLS_VERSIONS = (b"\x03\x01", b"\x03\x02", b"\x03\x03", b"\x03\x04")
SSL3_VERSION = b"\x03\x00"


_SYSTEM_RANDOM = SystemRandom()


def probe(target: str, rng: Random | None = None) -> bytes:
    random_bytes = (rng or _SYSTEM_RANDOM).randbytes(RANDOM_LENGTH)
    return RECORD_HEADER + HELLO_HEADER + random_bytes + AFTER_RANDOM


NEEDS = Needs(byte_in=bytes(RECORD_TYPES), substrings=(b"HTTPS",))


def match(data: bytes) -> str | None:
    if len(data) < 3:
        return None
    is_record = data[0] in RECORD_TYPES
    # LZR tests HTTPS first; a TLS record header gives `tls` either way, so look at it first.
    if is_record and data[1:3] in TLS_VERSIONS:
        return "tls"
    if contains(data, b"HTTPS"):
        return "tls"
    if is_record and data[1:3] == SSL3_VERSION:
        return "ssl"
    return None


HANDSHAKE = Handshake("tls", "TLS 1.2 ClientHello without SNI", False, probe, match, NEEDS)
