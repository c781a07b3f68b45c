"""Niagara Fox hello.

LZR's 513-byte text hello as sent by a Niagara Workbench (docs/lzr-reference.md §3.3).
A Niagara station answers with its own hello, `fox a 0 -1 fox hello` (§3.1).
"""
from lzr.handshakes.base import Handshake, Needs, constant

PROBE = (
    "fox a 1 -1 fox hello\n"
    "{\n"
    "fox.version=s:1.0\n"
    "id=i:1\n"
    "hostName=s:xpvm-0omdc01xmy\n"
    "hostAddress=s:192.168.1.125\n"
    "app.name=s:Workbench\n"
    "app.version=s:3.7.44\n"
    "vm.name=s:Java HotSpot(TM) Server VM\n"
    "vm.version=s:20.4-b02\n"
    "os.name=s:Windows XP\n"
    "os.version=s:5.1\n"
    "lang=s:en\n"
    "timeZone=s:America/Los_Angeles;-28800000;3600000;02:00:00.000,wall,march,8,on or after,"
    "sunday,undefined;02:00:00.000,wall,november,1,on or after,sunday,undefined\n"
    "hostId=s:Win-99CB-D49D-5442-07BB\n"
    "vmUuid=s:8b530bc8-76c5-4139-a2ea-0fabd394d305\n"
    "brandId=s:vykon\n"
    "};;\n"
).encode("ascii")

REPLY_PREFIX = b"fox a 0 -1 fox hello"

NEEDS = Needs(byte_in=REPLY_PREFIX[:1])


def match(data: bytes) -> str | None:
    return "fox" if data.startswith(REPLY_PREFIX) else None


HANDSHAKE = Handshake("fox", "Niagara Fox hello", False, constant(PROBE), match, NEEDS)
