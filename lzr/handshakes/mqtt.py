"""MQTT CONNECT.

LZR's 17-byte MQTT 3.1.1 CONNECT (docs/lzr-reference.md §3.3): clean session, keep-alive
10 s, client id `LZR` (MQTT 3.1.1 §3.1). A broker answers with the 4-byte CONNACK `20 02 xx
rc` whose return code is 0-5 (§3.2), which is LZR's rule (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = bytes.fromhex("100f" "00044d515454" "04" "00" "000a" "00034c5a52")
CONNACK = 0x20
MAX_RETURN_CODE = 5

NEEDS = Needs(byte_in=bytes((CONNACK,)))


def match(data: bytes) -> str | None:
    if len(data) == 4 and data[0] == CONNACK and data[3] <= MAX_RETURN_CODE:
        return "mqtt"
    return None


HANDSHAKE = Handshake("mqtt", "MQTT 3.1.1 CONNECT", False, constant(PROBE), match, NEEDS)
