"""Seeded populations of emulated services, written as a manifest (the ground truth).

    manifest = generate("unexpected", hosts=30, seed=1)

A profile says which protocols appear, how often, and on which ports:

* `uniform`: every protocol equally likely, on a port drawn uniformly from 1..65535;
* `unexpected`: what the LZR paper found off the assigned ports: mostly HTTP (~60%) and TLS
  (~28%) on random high ports, the rest a mix of other protocols; only a fifth of services
  sit on their IANA port;
* `iana`: every service on its IANA-assigned port.

Hard cases are mixed in by fractions, as counts (round(fraction x n), at least one when the
fraction is positive) so even a small population contains each of them: whole hosts that
answer with a zero window or are ACKing firewalls, and ports that reset right after the
handshake, never ACK data, or send their banner late. The same (profile, hosts, seed,
options) always gives the same manifest.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

from lzr_sim.behaviours import NORMAL, expected_record, keeps_service
from lzr_sim.manifest import Host, Manifest, Service
from lzr_sim.topologies.addresses import sparse_prefix, target_address


@dataclass(frozen=True)
class Protocol:
    name: str            # service name, handshake name and fingerprint label at once
    port: int            # IANA-assigned port (or the conventional one where IANA has none)
    server_first: bool   # sends a banner unasked, so the `wait` handshake identifies it
    # Answers the HTTP GET or the TLS ClientHello with something another rule claims, so its
    # own probe must go first (tests/unit/test_population_probes.py checks this against the
    # services and the rules).
    misread_by_web_probes: bool = False


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("http", 80, False), Protocol("tls", 443, False), Protocol("ssh", 22, True),
    Protocol("ftp", 21, True), Protocol("smtp", 25, True), Protocol("pop3", 110, True),
    Protocol("imap", 143, True), Protocol("telnet", 23, True), Protocol("vnc", 5900, True),
    Protocol("mysql", 3306, True), Protocol("redis", 6379, False, misread_by_web_probes=True),
    Protocol("memcached_ascii", 11211, False, misread_by_web_probes=True),
    Protocol("memcached_binary", 11211, False),
    Protocol("mongodb", 27017, False), Protocol("mqtt", 1883, False),
    Protocol("amqp", 5672, False), Protocol("postgres", 5432, False),
    Protocol("dns", 53, False), Protocol("rtsp", 554, False), Protocol("ipp", 631, False),
    Protocol("smb", 445, False), Protocol("rdp", 3389, False), Protocol("siemens", 102, False),
    Protocol("modbus", 502, False), Protocol("dnp3", 20000, False), Protocol("fox", 1911, False),
    Protocol("ipmi", 623, False), Protocol("pptp", 1723, False), Protocol("bgp", 179, True),
    Protocol("oracle", 1521, False), Protocol("mssql", 1433, False),
    Protocol("kubernetes", 6443, False),
    # Beyond LZR's handshakes.
    Protocol("ajp13", 8009, False), Protocol("cassandra", 9042, False), Protocol("drda", 446, False),
    Protocol("enip", 44818, False, misread_by_web_probes=True), Protocol("git", 9418, False), Protocol("h2c", 80, False),
    Protocol("irc", 6667, True), Protocol("java_rmi", 1099, False), Protocol("jdwp", 5005, False),
    Protocol("kafka", 9092, False), Protocol("ldap", 389, False), Protocol("nats", 4222, True),
    Protocol("nntp", 119, True), Protocol("pjl", 9100, False), Protocol("rsync", 873, True),
    Protocol("sip", 5060, False), Protocol("socks5", 1080, False), Protocol("xmpp", 5222, False),
    Protocol("zookeeper", 2181, False), Protocol("iec104", 2404, False), Protocol("opcua", 4840, False),
    Protocol("stomp", 61613, False), Protocol("epmd", 4369, False), Protocol("openvpn", 1194, False),
)}

# Protocols that ride on HTTP or TLS (IPP, the Kubernetes API): a scanner that sends GET or a
# ClientHello first names them http or tls, which is on the wire too. `unexpected` leaves them
# out so its ground truth stays unambiguous; `uniform` and `iana` keep them and the report
# shows it.
LAYERED_ON_HTTP_OR_TLS = frozenset({"ipp", "kubernetes"})

IANA_PORTS = frozenset(p.port for p in PROTOCOLS.values())
HIGH_PORTS = (1024, 65535)

# Default hard-case mixes: fractions of hosts, then of the services of normal hosts.
HOST_HARD_CASES = {"zero-window": 0.04, "acking-firewall": 0.02}
SERVICE_HARD_CASES = {"rst": 0.03, "no-ack": 0.03, "slow-banner": 0.03}


@dataclass(frozen=True)
class Profile:
    name: str
    weights: dict[str, float]          # protocol -> relative weight
    on_assigned_port: float            # fraction of services on their IANA port
    # Port drawn for a service off its IANA port: (low, high) inclusive.
    port_range: tuple[int, int] = HIGH_PORTS
    avoid_assigned_ports: bool = True  # off-port services never land on any IANA port
    description: str = ""


def _unexpected_weights() -> dict[str, float]:
    others = [name for name in PROTOCOLS
              if name not in ("http", "tls") and name not in LAYERED_ON_HTTP_OR_TLS]
    weights = {"http": 0.60, "tls": 0.28}
    weights.update({name: 0.12 / len(others) for name in others})
    return weights


PROFILES: dict[str, Profile] = {
    "uniform": Profile("uniform", {name: 1.0 for name in PROTOCOLS}, on_assigned_port=0.0,
                       port_range=(1, 65535), avoid_assigned_ports=False,
                       description="every protocol equally likely, any port"),
    "unexpected": Profile("unexpected", _unexpected_weights(), on_assigned_port=0.2,
                          description="HTTP and TLS dominate, mostly on random high ports"),
    "iana": Profile("iana", {name: 1.0 for name in PROTOCOLS}, on_assigned_port=1.0,
                    description="every service on its IANA port"),
}


@dataclass(frozen=True)
class Options:
    """Knobs of a population beyond profile, size and seed."""
    topology: str = "routed"
    services_per_host: tuple[int, int] = (1, 5)      # inclusive range, mean 3
    host_hard_cases: dict[str, float] = field(default_factory=lambda: dict(HOST_HARD_CASES))
    service_hard_cases: dict[str, float] = field(default_factory=lambda: dict(SERVICE_HARD_CASES))
    sparse_nodes: int = 2                            # answering hosts of the sparse topology


def _counts(fractions: dict[str, float], total: int) -> dict[str, int]:
    """round(fraction x total), at least 1 when the fraction is positive; never above total."""
    counts, left = {}, total
    for name, fraction in fractions.items():
        wanted = max(1, round(fraction * total)) if fraction > 0 else 0
        counts[name] = min(wanted, left)
        left -= counts[name]
    return counts


def _draw_port(rng: random.Random, profile: Profile, protocol: Protocol, used: set[int]) -> int:
    if rng.random() < profile.on_assigned_port and protocol.port not in used:
        return protocol.port
    low, high = profile.port_range
    while True:
        port = rng.randint(low, high)
        if port in used or (profile.avoid_assigned_ports and port in IANA_PORTS):
            continue
        return port


def _draw_services(rng: random.Random, profile: Profile, count: int) -> list[tuple[int, str]]:
    names = list(profile.weights)
    weights = [profile.weights[name] for name in names]
    used: set[int] = set()
    services = []
    while len(services) < count:
        protocol = PROTOCOLS[rng.choices(names, weights)[0]]
        if profile.on_assigned_port >= 1.0 and protocol.port in used:
            if all(PROTOCOLS[n].port in used for n in names):
                break
            continue  # iana: two protocols sharing a port (memcached) cannot both sit there
        port = _draw_port(rng, profile, protocol, used)
        used.add(port)
        services.append((port, protocol.name))
    return services


def _addresses(rng: random.Random, options: Options, hosts: int) -> list[tuple[str, str, str]]:
    """(name, address, node) per host."""
    if options.topology != "sparse":
        return [(f"h{i + 1}", target_address(i), f"h{i + 1}") for i in range(hosts)]
    result = []
    chosen: set[str] = set()
    for i in range(hosts):
        node_index = i % options.sparse_nodes
        prefix = sparse_prefix(node_index)
        while True:
            address = str(prefix.network_address + rng.randint(1, prefix.num_addresses - 2))
            if address not in chosen:
                break
        chosen.add(address)
        result.append((f"h{i + 1}", address, f"p{node_index + 1}"))
    return result


def generate(profile: str = "unexpected", hosts: int = 30, seed: int = 1,
             options: Options | None = None) -> Manifest:
    """A seeded population: same arguments, same manifest."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    if hosts < 1:
        raise ValueError("a population needs at least one host")
    options = options or Options()
    chosen_profile = PROFILES[profile]
    rng = random.Random(f"{profile}/{hosts}/{seed}")

    # Host behaviours: a shuffled assignment so hard hosts are spread over the population.
    # A sparse host shares its node (and its kernel) with others, so it stays normal.
    host_behaviours = ["normal"] * hosts
    if options.topology != "sparse":
        slots = list(range(hosts))
        rng.shuffle(slots)
        for behaviour, count in _counts(options.host_hard_cases, hosts).items():
            for _ in range(count):
                host_behaviours[slots.pop()] = behaviour

    drafts = []
    for (name, address, node), behaviour in zip(_addresses(rng, options, hosts), host_behaviours):
        count = rng.randint(*options.services_per_host)
        drafts.append((name, address, node, behaviour, _draw_services(rng, chosen_profile, count)))

    # Service behaviours, over the services of normal hosts; slow banners need a banner.
    service_behaviour: dict[tuple[str, int], str] = {}
    candidates = [(address, port, protocol) for _, address, _, behaviour, services in drafts
                  if behaviour == "normal" for port, protocol in services]
    rng.shuffle(candidates)
    # The no-ACK rule matches a port on every address of a node: on a shared (sparse) node
    # only a port no other address of the node uses may get it.
    node_of = {address: node for _, address, node, _, _ in drafts}
    ports_per_node = Counter((node_of[address], port) for address, port, _ in candidates)
    for behaviour, count in _counts(options.service_hard_cases, len(candidates)).items():
        fitting = [c for c in candidates
                   if (behaviour != "slow-banner" or PROTOCOLS[c[2]].server_first)
                   and (behaviour != "no-ack" or ports_per_node[(node_of[c[0]], c[1])] == 1)]
        for candidate in fitting[:count]:
            service_behaviour[candidate[:2]] = behaviour
            candidates.remove(candidate)

    result = []
    for name, address, node, host_behaviour, services in drafts:
        built = []
        for port, protocol in services:
            behaviour = service_behaviour.get((address, port), NORMAL)
            if not (keeps_service(host_behaviour) and keeps_service(behaviour)):
                protocol = None  # nothing speaks a protocol here: the host or the port only plays the hard case
            expect = expected_record(host_behaviour if host_behaviour != NORMAL else behaviour, protocol)
            identifiable = protocol is not None and expect == {"fingerprint": protocol}
            built.append(Service(port, protocol, behaviour, identifiable, expect))
        result.append(Host(name, address, node, host_behaviour, tuple(built)))
    parameters = {"hosts": hosts, "services_per_host": list(options.services_per_host),
                  "host_hard_cases": options.host_hard_cases,
                  "service_hard_cases": options.service_hard_cases}
    if options.topology == "sparse":
        parameters["sparse_nodes"] = options.sparse_nodes
    return Manifest(profile=profile, seed=seed, topology=options.topology, hosts=tuple(result),
                    parameters=parameters)


def catalogue(protocols: list[str], copies: int = 1, seed: int = 1, per_host: int = 3) -> Manifest:
    """`copies` services of each protocol on random high ports, `per_host` to a host, no hard
    cases: a population for checking that a scanner names every protocol."""
    unknown = [name for name in protocols if name not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown protocols {unknown}; choose from {', '.join(PROTOCOLS)}")
    rng = random.Random(f"catalogue/{','.join(protocols)}/{copies}/{seed}")
    off_port = replace(PROFILES["unexpected"], on_assigned_port=0.0)
    wanted = [name for name in protocols for _ in range(copies)]
    hosts = []
    for index in range(0, len(wanted), per_host):
        used: set[int] = set()
        services = []
        for name in wanted[index:index + per_host]:
            port = _draw_port(rng, off_port, PROTOCOLS[name], used)
            used.add(port)
            services.append(Service(port, name, NORMAL, True, expected_record(NORMAL, name)))
        number = len(hosts)
        hosts.append(Host(f"h{number + 1}", target_address(number), f"h{number + 1}", "normal", tuple(services)))
    return Manifest(profile="catalogue", seed=seed, topology="routed", hosts=tuple(hosts),
                    parameters={"protocols": list(protocols), "copies": copies, "per_host": per_host})


# The real-daemon tier: one host per Debian daemon (lzr_sim.daemons), each on a random high
# port, plus the hard cases a scan of the Internet meets, each recorded as a correct scanner
# records it (lzr_sim.behaviours): a host that ACKs every port, and ports that are silent,
# reset after the handshake, closed and filtered.
DAEMON_TIER_LABELS = ("http", "tls", "ssh", "telnet", "rdp", "ftp", "smtp", "imap", "pop3", "mysql",
                      "postgres", "redis", "memcached_ascii", "mqtt", "dns", "smb")
DAEMON_TIER_HARD_PORTS = ("silent", "rst", "closed", "filtered")
ACKING_FIREWALL_PORTS = 5


def daemon_tier(seed: int = 1) -> Manifest:
    """The real-daemon tier as a manifest: the same seed, the same ports."""
    rng = random.Random(f"daemons/{seed}")
    off_port = replace(PROFILES["unexpected"], on_assigned_port=0.0)
    used: set[int] = set()

    def port() -> int:
        drawn = _draw_port(rng, off_port, PROTOCOLS["http"], used)
        used.add(drawn)
        return drawn

    hosts = []
    for label in DAEMON_TIER_LABELS:
        service = Service(port(), label, NORMAL, True, expected_record(NORMAL, label), daemon=True)
        hosts.append((label, NORMAL, (service,)))
    hard = tuple(Service(port(), None, case, False, expected_record(case, None)) for case in DAEMON_TIER_HARD_PORTS)
    hosts.append(("hard-cases", NORMAL, hard))
    firewall = tuple(Service(port(), None, NORMAL, False, expected_record("acking-firewall", None))
                     for _ in range(ACKING_FIREWALL_PORTS))
    hosts.append(("acking-firewall", "acking-firewall", firewall))
    return Manifest(
        profile="daemons", seed=seed, topology="routed",
        hosts=tuple(Host(name, target_address(index), f"h{index + 1}", behaviour, services)
                    for index, (name, behaviour, services) in enumerate(hosts)),
        parameters={"labels": list(DAEMON_TIER_LABELS), "hard_ports": list(DAEMON_TIER_HARD_PORTS),
                    "acking_firewall_ports": ACKING_FIREWALL_PORTS})


def needed_handshakes(manifest: Manifest, base: tuple[str, ...] = ("wait", "http", "tls"),
                      order: tuple[str, ...] = ()) -> list[str]:
    """`base` plus the handshake of every identifiable protocol that `base` cannot name.

    Server-first protocols are named by `wait`'s banner. The extra handshakes follow `base`,
    except those of protocols that answer a GET or a ClientHello with something another rule
    claims (Redis answers GET with `-ERR ...`, which LZR's pop3 rule takes): those go right
    after `wait`, so their own probe is first. Among themselves the extras follow `order`
    (the scanner's default order) where it lists them, then by name.
    """
    extra = {service.protocol for _, _, service in manifest.targets()
             if service.identifiable and service.protocol not in base
             and not PROTOCOLS.get(service.protocol, Protocol("", 0, False)).server_first}
    if "wait" not in base:
        extra |= {service.protocol for _, _, service in manifest.targets()
                  if service.identifiable and PROTOCOLS.get(service.protocol) is not None
                  and PROTOCOLS[service.protocol].server_first}
    ranked = sorted(extra, key=lambda name: (order.index(name) if name in order else len(order), name))
    early = [name for name in ranked if name in PROTOCOLS and PROTOCOLS[name].misread_by_web_probes]
    late = [name for name in ranked if name not in early]
    first = [name for name in base if name == "wait"]
    return first + early + [name for name in base if name != "wait"] + late
