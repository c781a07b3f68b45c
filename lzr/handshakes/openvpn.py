"""OpenVPN over TCP: a client hard reset.

The first packet of an OpenVPN session in TLS mode (OpenVPN's protocol overview,
doc/doxygen/doc_protocol_overview.h, "Network protocol"): over TCP a 2-byte length, then
opcode P_CONTROL_HARD_RESET_CLIENT_V2 (7) with key id 0 in one byte, our 8-byte session id,
an empty ACK array and message packet-id 0. A server without tls-auth answers
P_CONTROL_HARD_RESET_SERVER_V2 (8), acknowledging our packet and echoing our session id;
with tls-auth or tls-crypt it drops the packet unread.
"""
from lzr.handshakes.base import Handshake, Needs, constant

SESSION_ID = b"lzr-ovpn"
HARD_RESET_CLIENT_V2 = 7
SERVER_RESETS = (2, 8)  # P_CONTROL_HARD_RESET_SERVER_V1, _V2
PACKET = bytes([HARD_RESET_CLIENT_V2 << 3]) + SESSION_ID + b"\x00" + bytes(4)
PROBE = len(PACKET).to_bytes(2, "big") + PACKET

NEEDS = Needs(byte_in=bytes(byte for byte in range(256) if byte >> 3 in SERVER_RESETS), at=2)


def match(data: bytes) -> str | None:
    if len(data) < 12 or data[2] >> 3 not in SERVER_RESETS:
        return None
    acks = data[11]
    echoed = 12 + 4 * acks  # the remote session id follows the acknowledged packet-ids
    if acks and data[echoed:echoed + 8] == SESSION_ID:
        return "openvpn"
    return None


HANDSHAKE = Handshake(
    "openvpn", "OpenVPN client hard reset over TCP", False, constant(PROBE), match, NEEDS
)
