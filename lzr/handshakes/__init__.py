"""The registry of handshakes: LZR's 36 and ours, by name.

Each protocol lives in its own module as `HANDSHAKE`; see `base.Handshake` for what one is.
docs/handshakes.md explains the default order.
"""
from lzr.handshakes import (
    ajp13, amqp, bgp, cassandra, dnp3, dns, drda, enip, epmd, fox, ftp, git, h2c, http,
    iec104, imap, ipmi, ipp, irc, java_rmi, jdwp, kafka, kubernetes, ldap, memcached_ascii,
    memcached_binary, modbus, mongodb, mqtt, mssql, mysql, nats, newlines, newlines50, nntp,
    opcua, openvpn, oracle, pjl, pop3, postgres, pptp, rdp, redis, rsync, rtsp, siemens,
    sip, smb, smb2, smtp, socks5, ssh, stomp, telnet, tls, vnc, wait, x11, xmpp, zookeeper,
)
from lzr.handshakes.base import Handshake

__all__ = [
    "DEFAULT_ORDER", "LZR_NAMES", "REGISTRY", "Handshake", "UnknownHandshake",
    "get", "parse_list",
]

_LZR_MODULES = (
    amqp, bgp, dnp3, dns, fox, ftp, http, imap, ipmi, ipp, kubernetes, memcached_ascii,
    memcached_binary, modbus, mongodb, mqtt, mssql, mysql, newlines, newlines50, oracle,
    pop3, postgres, pptp, rdp, redis, rtsp, siemens, smb, smtp, ssh, telnet, tls, vnc, wait,
    x11,
)
# Ours: services found on unexpected ports that LZR cannot name.
_NEW_MODULES = (
    ajp13, cassandra, drda, enip, epmd, git, h2c, iec104, irc, java_rmi, jdwp, kafka, ldap,
    nats, nntp, opcua, openvpn, pjl, rsync, sip, smb2, socks5, stomp, xmpp, zookeeper,
)
_MODULES = _LZR_MODULES + _NEW_MODULES

# Ascending byte-wise name order: the order LZR runs its rules in (docs/lzr-reference.md §3.2 step 1).
REGISTRY: dict[str, Handshake] = {
    hs.name: hs for hs in sorted((m.HANDSHAKE for m in _MODULES), key=lambda h: h.name.encode())
}

# LZR's own 36, in the same order.
LZR_NAMES: tuple[str, ...] = tuple(sorted((m.HANDSHAKE.name for m in _LZR_MODULES), key=str.encode))

# What `-handshakes all` tries, first to last; docs/handshakes.md says why.
DEFAULT_ORDER: tuple[str, ...] = (
    # The LZR paper's Table 2, ranks 1-4: a banner wait, HTTP, TLS, and DNS, which stays
    # silent to any other probe (it waits for as many bytes as their first two announce).
    "wait", "http", "tls", "dns",
    # A raw print port prints every probe it cannot parse: name it before sending more.
    "pjl",
    # The rest of Table 2: PPTP (rank 5) and Oracle (rank 4 on ephemeral ports).
    "pptp", "oracle",
    # The paper's other binary protocols that stay silent without their own probe (§4.1).
    # rdp goes before siemens: with `-handshakes all` this order also breaks ties, and with
    # --compat an RDP server's reply satisfies both rules. smb2 goes before LZR's smb: Samba
    # and Windows answer its SMB2 NEGOTIATE, and ignore LZR's SMB1 one.
    "mqtt", "postgres", "mssql", "rdp", "smb2", "siemens", "smb",
    # LZR's remaining client-first probes.
    "redis", "mongodb", "memcached_ascii", "memcached_binary", "amqp", "modbus",
    "dnp3", "ipmi", "fox", "rtsp", "ipp", "smtp", "ssh", "x11",
    # Ours, client-first.
    "h2c", "socks5", "openvpn", "ldap", "kafka", "cassandra", "zookeeper", "sip", "xmpp", "irc",
    "git", "stomp", "drda", "enip", "iec104", "opcua", "java_rmi", "jdwp", "ajp13", "epmd",
    # Provocations: newlines (bgp sends the same two bytes).
    "newlines", "newlines50", "bgp",
    # Server-first: the same empty probe as wait, tried again in case the banner was slow.
    "ftp", "imap", "pop3", "telnet", "vnc", "mysql", "nntp", "rsync", "nats",
    # The same ClientHello as tls.
    "kubernetes",
)


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
