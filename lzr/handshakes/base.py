"""What every handshake module is made of, and the small byte tests their rules share."""
from dataclasses import dataclass
from random import Random
from typing import Callable

# What builds a probe: the target's address text and the scan's random source (None outside
# a scan: the system's).
Probe = Callable[[str, Random | None], bytes]

# The reply codes LZR's ftp and smtp rules both accept as a banner's first three bytes.
BANNER_CODES = (b"220", b"421", b"530", b"550", b"230")


@dataclass(frozen=True)
class Needs:
    """A cheap test that every response a rule names passes: fingerprint.py runs a rule only
    on responses that pass its test (docs/handshakes.md, "How rules stay fast").

    A response passes if its byte at offset `at` is one of `byte_in`, or if one of
    `substrings` occurs in it, ignoring ASCII case. With neither given, every response
    passes: a rule without a test is always run.
    """

    byte_in: bytes = b""
    at: int = 0
    substrings: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Handshake:
    """One protocol: the bytes to send with the handshake's ACK and the rule for a reply.

    `probe(target, rng)` gets the target's address text (HTTP-like probes put it in `Host`)
    and the scan's seeded random source, for the probes that carry random bytes (TLS's
    ClientHello): a scan with `--seed` sends the same bytes again. `match(data)` returns the
    label for a response, or None; `needs` is what every response it names has. A
    server-first handshake has an empty probe: the scanner completes the handshake and waits
    for a banner. `same_probe_as` names the handshake whose probe this one sends too: a
    response to either is an answer to both (fingerprint.sure_labels). `lzr_match` is LZR's
    rule where ours (`match`) names more right; --compat runs it. `needs` holds for both.
    """

    name: str
    description: str
    server_first: bool
    probe: Probe
    match: Callable[[bytes], str | None]
    needs: Needs = Needs()
    same_probe_as: str = ""
    lzr_match: Callable[[bytes], str | None] | None = None


def constant(payload: bytes) -> Probe:
    """A probe that does not depend on the target."""
    return lambda target, rng=None: payload


def never(data: bytes) -> None:
    """The rule of handshakes that have none of their own (wait, newlines, x11, smb2)."""
    return None


def host_text(target: str) -> str:
    """The target as it goes into a Host header or URI.

    IPv6 addresses are bracketed (RFC 3986 §3.2.2). LZR sends them bare, which is not a
    valid Host; this is one of our documented fixes.
    """
    return f"[{target}]" if ":" in target else target


def contains(data: bytes, *needles: bytes) -> bool:
    """Whether any of `needles` occurs in `data` (LZR's "contains").

    `needle in data` would say the same, but on Python 3.11 it first tries the needle as an
    integer and builds a TypeError message each time, which on short responses costs more
    than the search itself; `find` goes straight to the search.
    """
    for needle in needles:
        if data.find(needle) >= 0:
            return True
    return False


def mail_banner(data: bytes, label: str, greetings: tuple[bytes, ...],
                rival_greetings: tuple[bytes, ...], marker: bytes) -> str | None:
    """LZR's rule for the IMAP and POP3 banners, which tell each other apart by their greeting:
    an ASCII response that does not start like the rival's, and starts with one of
    `greetings`, or names the protocol (any case), or carries `marker` anywhere."""
    if not data or not data.isascii() or data.startswith(rival_greetings):
        return None
    if (data.startswith(greetings) or contains(lowercase(data), label.encode())
            or contains(data, marker)):
        return label
    return None


_last_lowercase: tuple[bytes, bytes] = (b"", b"")


def lowercase(data: bytes) -> bytes:
    """`data` with ASCII A-Z folded to a-z, as LZR's "lowercase" (other bytes untouched).

    Several rules fold the same response in turn; the last result is kept (by identity, in
    one atomic tuple so threads cannot mix two responses) so it is folded once. Only
    immutable bytes are kept: a bytearray could change between two calls.
    """
    global _last_lowercase
    last = _last_lowercase
    if last[0] is data:
        return last[1]
    folded = data.lower()
    if type(data) is bytes:
        _last_lowercase = (data, folded)
    return folded
