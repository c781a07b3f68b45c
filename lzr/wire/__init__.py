"""Bytes <-> packets: Ethernet, IPv4, IPv6, TCP, checksums, the capture filter. No I/O."""
from .addr import exploded_ipv6, format_addr, parse_addr
from .build import FrameBuilder
from .checksum import internet_checksum, ipv4_header_checksum, tcp_checksum
from .errors import MalformedPacket, Reason
from .parse import parse_frame, parse_ip
from .segment import ACK, FIN, PSH, RST, SYN, URG, Segment

__all__ = [
    "ACK", "FIN", "PSH", "RST", "SYN", "URG", "FrameBuilder", "MalformedPacket", "Reason",
    "Segment", "exploded_ipv6", "format_addr", "internet_checksum", "ipv4_header_checksum",
    "parse_addr", "parse_frame", "parse_ip", "tcp_checksum",
]
