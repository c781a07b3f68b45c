"""The manifest: the ground truth of an emulated population, as JSON.

A manifest lists every host (its address and the Mininet node that answers for it), every
scanned (address, port) with the protocol that really runs there (or none), the behaviour of
the host or service, whether a scanner can identify it, and what record a correct scanner
writes for it. `lzr_sim.report` compares a scan with it; `lzr_sim.network` builds the network from it.

    {"version": 1, "profile": "unexpected", "seed": 1, "topology": "routed",
     "hosts": [{"name": "h1", "address": "198.18.0.10", "behaviour": "normal",
                "services": [{"port": 8443, "protocol": "tls", "behaviour": "normal",
                              "identifiable": true, "expect": {"fingerprint": "tls"}}]}]}
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from lzr_sim.behaviours import HOST_BEHAVIOURS, PORT_BEHAVIOURS
from lzr_sim.daemons import DAEMONS

MANIFEST_VERSION = 1
TOPOLOGIES = ("lan", "routed", "sparse")


class ManifestError(ValueError):
    """A manifest that does not follow the schema; the message says where."""


@dataclass(frozen=True)
class Service:
    port: int
    protocol: str | None          # what really runs there; None: no protocol (hard case)
    behaviour: str = "normal"     # a port behaviour of lzr_sim.behaviours.BEHAVIOURS, or normal
    identifiable: bool = True     # a correct scanner names `protocol` for it
    # Fields the record of a correct scan carries, in LZR's JSON names (e.g. fingerprint,
    # window, RST, ackingFirewall); None: nothing definite (e.g. a host that shuns).
    expect: dict | None = None
    daemon: bool = False          # the real Debian daemon serves it (lzr_sim.daemons)


@dataclass(frozen=True)
class Host:
    name: str                     # short node-independent name, e.g. h7
    address: str
    node: str                     # the topology node answering for the address, e.g. h7 or p1
    behaviour: str = "normal"     # a host behaviour of lzr_sim.behaviours.BEHAVIOURS, or normal
    services: tuple[Service, ...] = ()


@dataclass(frozen=True)
class Manifest:
    profile: str
    seed: int
    topology: str
    hosts: tuple[Host, ...]
    version: int = MANIFEST_VERSION
    # Extra knobs recorded for reproducibility (fractions, sizes); free-form.
    parameters: dict = field(default_factory=dict)

    def targets(self) -> list[tuple[str, int, Service]]:
        """Every scanned (address, port) with its service, in manifest order."""
        return [(host.address, service.port, service)
                for host in self.hosts for service in host.services]

    def service_at(self, address: str, port: int) -> Service | None:
        return self._by_target.get((address, port))

    @cached_property
    def _by_target(self) -> dict[tuple[str, int], Service]:
        return {(address, port): service for address, port, service in self.targets()}

    def protocols(self) -> set[str]:
        return {service.protocol for _, _, service in self.targets() if service.protocol}

    def nodes(self) -> list[str]:
        """Topology nodes that answer for some host, in first-seen order."""
        return list(dict.fromkeys(host.node for host in self.hosts))

    def to_json(self) -> str:
        data = {
            "version": self.version, "profile": self.profile, "seed": self.seed,
            "topology": self.topology, "parameters": self.parameters,
            "hosts": [
                {**{k: v for k, v in asdict(host).items() if k != "services"},
                 "services": [_service_json(service) for service in host.services]}
                for host in self.hosts
            ],
        }
        return json.dumps(data, indent=1, sort_keys=False) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        return from_dict(json.loads(text))

    @classmethod
    def load(cls, path: str | Path) -> "Manifest":
        return cls.from_json(Path(path).read_text())


def _service_json(service: Service) -> dict:
    data = asdict(service)
    if not service.daemon:
        del data["daemon"]  # synthetic, the default: manifests without daemons read as before
    return data


def _require(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise ManifestError(f"{where}: {what}")


def from_dict(data: dict) -> Manifest:
    """Validate and convert a decoded manifest; raises ManifestError naming the bad field."""
    _require(isinstance(data, dict), "manifest", "must be a JSON object")
    _require(data.get("version") == MANIFEST_VERSION, "version",
             f"must be {MANIFEST_VERSION}, got {data.get('version')!r}")
    _require(data.get("topology") in TOPOLOGIES, "topology", f"must be one of {TOPOLOGIES}")
    hosts = []
    seen_targets = set()
    for h_index, raw_host in enumerate(data.get("hosts", [])):
        where = f"hosts[{h_index}]"
        for key in ("name", "address", "node"):
            _require(isinstance(raw_host.get(key), str) and raw_host[key], where, f"needs {key}")
        behaviour = raw_host.get("behaviour", "normal")
        _require(behaviour in HOST_BEHAVIOURS, where, f"behaviour must be one of {HOST_BEHAVIOURS}")
        services = []
        for s_index, raw in enumerate(raw_host.get("services", [])):
            s_where = f"{where}.services[{s_index}]"
            port = raw.get("port")
            _require(isinstance(port, int) and 0 < port < 65536, s_where, "port must be 1..65535")
            _require((raw_host["address"], port) not in seen_targets, s_where,
                     f"duplicate target {raw_host['address']}:{port}")
            seen_targets.add((raw_host["address"], port))
            protocol = raw.get("protocol")
            _require(protocol is None or isinstance(protocol, str), s_where, "protocol must be a string or null")
            s_behaviour = raw.get("behaviour", "normal")
            _require(s_behaviour in PORT_BEHAVIOURS, s_where, f"behaviour must be one of {PORT_BEHAVIOURS}")
            identifiable = raw.get("identifiable", protocol is not None)
            _require(isinstance(identifiable, bool), s_where, "identifiable must be a boolean")
            _require(not identifiable or protocol is not None, s_where,
                     "an identifiable service needs a protocol")
            expect = raw.get("expect")
            _require(expect is None or isinstance(expect, dict), s_where, "expect must be an object or null")
            daemon = raw.get("daemon", False)
            _require(isinstance(daemon, bool), s_where, "daemon must be a boolean")
            _require(not daemon or (protocol in DAEMONS and s_behaviour == "normal"), s_where,
                     f"a daemon needs behaviour normal and a protocol with a Debian daemon: {', '.join(DAEMONS)}")
            services.append(Service(port, protocol, s_behaviour, identifiable, expect, daemon))
        hosts.append(Host(raw_host["name"], raw_host["address"], raw_host["node"], behaviour,
                          tuple(services)))
    return Manifest(profile=str(data.get("profile", "custom")), seed=int(data.get("seed", 0)),
                    topology=data["topology"], hosts=tuple(hosts),
                    parameters=dict(data.get("parameters", {})))
