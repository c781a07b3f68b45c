"""The primary port of each protocol label, for "how many services sit on their own port".

Source: IANA's Service Name and Transport Protocol Port Number Registry
(https://www.iana.org/assignments/service-names-port-numbers/), TCP entries. Where IANA lists
several ports for a protocol, the one its clients use by default is kept (HTTP 80 rather than
8080, IRC 194 rather than 6665-6669, DRDA 446). A handful of protocols have no IANA assignment
of their own, or IANA gives their usual port to something else; they keep the port their
servers listen on by default and are marked `de facto`, so a reader of the report knows.

Labels the scanner can give and that no port stands for (`unknown`, the composite
`smtp-ftp`, `jdwp`, which has no default port) are absent: their services have no "own port".
"""
from typing import NamedTuple


class PrimaryPort(NamedTuple):
    port: int
    basis: str          # "IANA" or "de facto"
    service_name: str   # IANA's service name for the port, or the server's own name


IANA = "IANA"
DE_FACTO = "de facto"

PRIMARY_PORTS: dict[str, PrimaryPort] = {
    "ftp": PrimaryPort(21, IANA, "ftp"),
    "ssh": PrimaryPort(22, IANA, "ssh"),
    "telnet": PrimaryPort(23, IANA, "telnet"),
    "smtp": PrimaryPort(25, IANA, "smtp"),
    "dns": PrimaryPort(53, IANA, "domain"),
    "http": PrimaryPort(80, IANA, "http"),
    "h2c": PrimaryPort(80, IANA, "http"),
    "siemens": PrimaryPort(102, IANA, "iso-tsap"),
    "pop3": PrimaryPort(110, IANA, "pop3"),
    "nntp": PrimaryPort(119, IANA, "nntp"),
    "imap": PrimaryPort(143, IANA, "imap"),
    "bgp": PrimaryPort(179, IANA, "bgp"),
    "irc": PrimaryPort(194, IANA, "irc"),
    "ldap": PrimaryPort(389, IANA, "ldap"),
    "tls": PrimaryPort(443, IANA, "https"),
    "ssl": PrimaryPort(443, IANA, "https"),
    "smb": PrimaryPort(445, IANA, "microsoft-ds"),
    "smb2": PrimaryPort(445, IANA, "microsoft-ds"),
    "drda": PrimaryPort(446, IANA, "ddm-rdb"),
    "modbus": PrimaryPort(502, IANA, "mbap"),
    "rtsp": PrimaryPort(554, IANA, "rtsp"),
    "ipmi": PrimaryPort(623, DE_FACTO, "IPMI over RMCP (IANA: asf-rmcp, UDP only)"),
    "ipp": PrimaryPort(631, IANA, "ipp"),
    "rsync": PrimaryPort(873, IANA, "rsync"),
    "socks5": PrimaryPort(1080, IANA, "socks"),
    "java_rmi": PrimaryPort(1099, IANA, "rmiregistry"),
    "openvpn": PrimaryPort(1194, IANA, "openvpn"),
    "mssql": PrimaryPort(1433, IANA, "ms-sql-s"),
    "oracle": PrimaryPort(1521, DE_FACTO, "Oracle TNS listener"),
    "pptp": PrimaryPort(1723, IANA, "pptp"),
    "mqtt": PrimaryPort(1883, IANA, "mqtt"),
    "fox": PrimaryPort(1911, DE_FACTO, "Niagara Fox"),
    "zookeeper": PrimaryPort(2181, DE_FACTO, "ZooKeeper client port"),
    "iec104": PrimaryPort(2404, IANA, "iec-104"),
    "mysql": PrimaryPort(3306, IANA, "mysql"),
    "rdp": PrimaryPort(3389, IANA, "ms-wbt-server"),
    "nats": PrimaryPort(4222, DE_FACTO, "NATS client port"),
    "epmd": PrimaryPort(4369, IANA, "epmd"),
    "opcua": PrimaryPort(4840, IANA, "opcua-tcp"),
    "sip": PrimaryPort(5060, IANA, "sip"),
    "xmpp": PrimaryPort(5222, IANA, "xmpp-client"),
    "postgres": PrimaryPort(5432, IANA, "postgresql"),
    "amqp": PrimaryPort(5672, IANA, "amqp"),
    "vnc": PrimaryPort(5900, IANA, "rfb"),
    "x11": PrimaryPort(6000, IANA, "x11 (6000-6063)"),
    "redis": PrimaryPort(6379, IANA, "redis"),
    "kubernetes": PrimaryPort(6443, DE_FACTO, "Kubernetes API server"),
    "ajp13": PrimaryPort(8009, DE_FACTO, "Tomcat AJP connector"),
    "cassandra": PrimaryPort(9042, DE_FACTO, "Cassandra CQL native port"),
    "kafka": PrimaryPort(9092, DE_FACTO, "Kafka broker"),
    "pjl": PrimaryPort(9100, IANA, "hp-pdl-datastr"),
    "git": PrimaryPort(9418, IANA, "git"),
    "memcached_ascii": PrimaryPort(11211, IANA, "memcache"),
    "memcached_binary": PrimaryPort(11211, IANA, "memcache"),
    "dnp3": PrimaryPort(20000, IANA, "dnp"),
    "mongodb": PrimaryPort(27017, IANA, "mongodb"),
    "enip": PrimaryPort(44818, IANA, "EtherNet-IP-2"),
    "stomp": PrimaryPort(61613, DE_FACTO, "STOMP (ActiveMQ, RabbitMQ)"),
}


def labels_of_port() -> dict[int, tuple[str, ...]]:
    """For each primary port, the labels whose own port it is (80: http and h2c)."""
    by_port: dict[int, list[str]] = {}
    for label, primary in PRIMARY_PORTS.items():
        by_port.setdefault(primary.port, []).append(label)
    return {port: tuple(labels) for port, labels in by_port.items()}
