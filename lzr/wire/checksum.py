"""The Internet checksum (RFC 1071) for IPv4 headers and TCP segments.

Arithmetic shortcut used throughout: 2**16 is 1 modulo 0xFFFF, so the ones'-complement sum of
a run of 16-bit big-endian words is congruent to the run read as one big integer, modulo
0xFFFF. A whole header therefore sums with one `int.from_bytes` and one `%`, and a 32- or
128-bit field can be added as a plain integer without splitting it into words. For any
non-zero sum `total`, the checksum field is `-total % 0xFFFF` (that is 0xFFFF minus the folded
sum, and 0 when the folded sum is 0xFFFF, as the usual end-around-carry code gives).
"""
from .headers import IPPROTO_TCP


def word_sum(data: bytes) -> int:
    """A number congruent to the 16-bit word sum of `data` modulo 0xFFFF (odd length: zero pad)."""
    value = int.from_bytes(data, "big")
    # A trailing odd byte is the high byte of a zero-padded word: shift it up by one byte.
    return value << 8 if len(data) & 1 else value


def finish(total: int) -> int:
    """The checksum field value for a non-zero congruent word sum."""
    return -total % 0xFFFF


def internet_checksum(data: bytes) -> int:
    """RFC 1071 checksum of `data` (the value to store in a zeroed checksum field)."""
    total = word_sum(data)
    return finish(total) if total else 0xFFFF


def ipv4_header_checksum(header: bytes) -> int:
    """Checksum of an IPv4 header whose checksum field is zero."""
    return internet_checksum(header)


def pseudo_header_sum(src: int, dst: int, tcp_length: int) -> int:
    """Congruent sum of the TCP pseudo-header (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6).

    Both forms hold the two addresses, the protocol number and the segment length; the
    widths and positions of the last two differ, but their word sums are equal, so one
    function serves IPv4 (32-bit address integers) and IPv6 (128-bit).
    """
    return src + dst + IPPROTO_TCP + tcp_length


def tcp_checksum(src: int, dst: int, segment: bytes) -> int:
    """Checksum of a TCP segment (header with zero checksum field, then payload)."""
    return finish(pseudo_header_sum(src, dst, len(segment)) + word_sum(segment))
