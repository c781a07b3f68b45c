"""The headers the scanner reads and writes, and their protocol numbers."""
from .layout import Layout

ETH_P_IP = 0x0800
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD
IPPROTO_TCP = 6

ETHERNET = Layout("Ethernet", (
    ("dst", "6s"),
    ("src", "6s"),
    ("ethertype", "H"),
))

# What follows the 0x8100 TPID of an 802.1Q tag: priority/VLAN id, then the real EtherType.
VLAN_TAG = Layout("802.1Q", (
    ("tci", "H"),
    ("ethertype", "H"),
))

IPV4 = Layout("IPv4", (
    ("version_ihl", "B"),       # version (4 bits) | header length in 32-bit words (4 bits)
    ("tos", "B"),
    ("total_length", "H"),      # header + payload, bytes
    ("ident", "H"),
    ("flags_fragment", "H"),    # flags (3 bits) | fragment offset in 8-byte units (13 bits)
    ("ttl", "B"),
    ("protocol", "B"),
    ("checksum", "H"),
    ("src", "I"),
    ("dst", "I"),
))
IPV4_FRAGMENT_OFFSET_MASK = 0x1FFF

IPV6 = Layout("IPv6", (
    ("version_class_flow", "I"),  # version (4 bits) | traffic class (8) | flow label (20)
    ("payload_length", "H"),      # bytes after this header
    ("next_header", "B"),
    ("hop_limit", "B"),
    ("src", "16s"),
    ("dst", "16s"),
))

TCP = Layout("TCP", (
    ("sport", "H"),
    ("dport", "H"),
    ("seq", "I"),
    ("ack", "I"),
    ("offset_reserved", "B"),   # data offset in 32-bit words (4 bits) | reserved (4 bits)
    ("flags", "B"),             # CWR ECE URG ACK PSH RST SYN FIN
    ("window", "H"),
    ("checksum", "H"),
    ("urgent", "H"),
))
