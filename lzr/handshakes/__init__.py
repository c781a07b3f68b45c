"""The registry of handshakes: LZR's 36 and ours, by name.

Each protocol lives in its own module as `HANDSHAKE`; see `base.Handshake` for what one is.
docs/handshakes.md explains the default order.
"""
from lzr.handshakes import (
    amqp,
    bgp,
    dnp3,
    dns,
    fox,
    ftp,
    http,
    imap,
    ipmi,
    ipp,
    kubernetes,
    memcached_ascii,
    memcached_binary,
    modbus,
    mongodb,
    mqtt,
    mssql,
    mysql,
    newlines,
    newlines50,
    oracle,
    pop3,
    postgres,
    pptp,
    rdp,
    redis,
    rtsp,
    siemens,
    smb,
    smtp,
    ssh,
    telnet,
    tls,
    vnc,
    wait,
    x11,
)
from lzr.handshakes.base import Handshake

__all__ = [
    "DEFAULT_ORDER", "LZR_NAMES", "REGISTRY", "Handshake", "UnknownHandshake", "get", "parse_list",
]

_LZR_MODULES = (
    amqp,
    bgp,
    dnp3,
    dns,
    fox,
    ftp,
    http,
    imap,
    ipmi,
    ipp,
    kubernetes,
    memcached_ascii,
    memcached_binary,
    modbus,
    mongodb,
    mqtt,
    mssql,
    mysql,
    newlines,
    newlines50,
    oracle,
    pop3,
    postgres,
    pptp,
    rdp,
    redis,
    rtsp,
    siemens,
    smb,
    smtp,
    ssh,
    telnet,
    tls,
    vnc,
    wait,
    x11,
)
_MODULES = _LZR_MODULES

# Ascending byte-wise name order: the order LZR runs its rules in (reference §3.2 step 1).
REGISTRY: dict[str, Handshake] = {
    hs.name: hs for hs in sorted((m.HANDSHAKE for m in _MODULES), key=lambda h: h.name.encode())
}

# LZR's own 36, in the same order.
LZR_NAMES: tuple[str, ...] = tuple(sorted((m.HANDSHAKE.name for m in _LZR_MODULES), key=str.encode))

# What `-handshakes all` tries, first to last (docs/handshakes.md says why).
DEFAULT_ORDER: tuple[str, ...] = ("wait", "http", "tls")


class UnknownHandshake(ValueError):
    """A handshake name that is not in the registry."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown handshake {name!r}; valid names: {', '.join(REGISTRY)}")


def get(name: str) -> Handshake:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownHandshake(name) from None


def parse_list(text: str) -> tuple[str, ...]:
    """Names from a comma-separated list such as "wait,http,tls", in order.

    Duplicates are kept (LZR tries a handshake as often as it is listed); "all" stands for
    DEFAULT_ORDER. Surrounding spaces and empty items are ignored.
    """
    names: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if item == "all":
            names.extend(DEFAULT_ORDER)
        else:
            names.append(get(item).name)
    return tuple(names)
