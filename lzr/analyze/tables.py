"""The paper's tables from the staged services: totals, per protocol label, per port.

A service is one (address, port) with data and `RST` false; if records of the same service
carry different labels, it counts once in the totals and once under each label. A host with
services on more than PSEUDO_SERVICE_PORTS ports is a pseudo-service host (the rule GPS
applies to LZR data); `exclude_pseudo` leaves those hosts out of every table, while the totals
still say how many there were.
"""
from dataclasses import dataclass, field

import duckdb

from lzr.analyze.ports import PRIMARY_PORTS, labels_of_port

PSEUDO_SERVICE_PORTS = 10
COVERAGE_TARGET = 0.9


@dataclass
class Report:
    """`summary` is the report itself (what `--format json` prints); `coverage` feeds the plots:
    per label, its services per port, largest first."""

    summary: dict
    coverage: dict[str, list[int]] = field(default_factory=dict)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def ports_for_share(per_port_descending: list[int], target: float = COVERAGE_TARGET) -> int:
    """How many of the busiest ports hold `target` of the services (0 without services)."""
    total = sum(per_port_descending)
    covered = 0
    for rank, services in enumerate(per_port_descending, start=1):
        covered += services
        if covered >= target * total:
            return rank
    return 0


def build(connection: duckdb.DuckDBPyConnection, *, exclude_pseudo: bool, top: int) -> dict:
    """The service tables from `staged` (see lzr.analyze.ingest), with `coverage` for the plots
    under the key "coverage"; the input's totals are added by the caller.

    The services are deduplicated once and counted per host, per (label, port) and per label
    for its hosts. SQL orders the (label, port) counts, so Python only walks them once per
    table. The per-port totals come from the (label, port) counts, unless some service carries
    two labels, when they count each service once.
    """
    run = connection.execute
    run("CREATE OR REPLACE TEMP TABLE services AS "
        "SELECT saddr, sport, label FROM staged WHERE saddr IS NOT NULL GROUP BY ALL")
    run("CREATE OR REPLACE TEMP TABLE host_ports AS "
        "SELECT saddr, count(DISTINCT sport) AS ports FROM services GROUP BY saddr")
    pseudo_hosts, pseudo_services, hosts, services = run(
        f"""SELECT count(*) FILTER (ports > {PSEUDO_SERVICE_PORTS}),
                   coalesce(sum(ports) FILTER (ports > {PSEUDO_SERVICE_PORTS}), 0)::BIGINT,
                   count(*) FILTER (NOT $exclude OR ports <= {PSEUDO_SERVICE_PORTS}),
                   coalesce(sum(ports) FILTER (NOT $exclude OR ports <= {PSEUDO_SERVICE_PORTS}),
                            0)::BIGINT
            FROM host_ports""", {"exclude": exclude_pseudo}).fetchone()
    kept = (f"(SELECT * FROM services WHERE saddr NOT IN "
            f"(SELECT saddr FROM host_ports WHERE ports > {PSEUDO_SERVICE_PORTS}))"
            if exclude_pseudo else "services")
    run(f"CREATE OR REPLACE TEMP TABLE label_ports AS "
        f"SELECT label, sport, count(*) AS n FROM {kept} GROUP BY ALL")

    def ordered(order: str) -> zip:
        columns = run(f"SELECT label, sport, n FROM label_ports ORDER BY {order}").fetchnumpy()
        return zip(*(columns[name].tolist() for name in ("label", "sport", "n")))

    coverage: dict[str, list[int]] = {}
    top_ports: dict[str, list[list[int]]] = {}
    on_primary: dict[str, int] = {}
    for label, port, count in ordered("label, n DESC, sport"):
        per_port = coverage.get(label)
        if per_port is None:
            per_port = coverage[label] = []
            top_ports[label] = []
        per_port.append(count)
        if len(per_port) <= top:
            top_ports[label].append([port, count])
        primary = PRIMARY_PORTS.get(label)
        if primary is not None and primary.port == port:
            on_primary[label] = count
    mix: dict[int, dict[str, int]] = {}
    for label, port, count in ordered("sport, n DESC, label"):
        labels = mix.get(port)
        if labels is None:
            labels = mix[port] = {}
        labels[label] = count
    label_hosts = dict(run(f"SELECT label, count(DISTINCT saddr) FROM {kept} GROUP BY label")
                       .fetchall())

    protocols = {}
    for label in sorted(coverage, key=lambda label: (-sum(coverage[label]), label)):
        label_services = sum(coverage[label])
        primary = PRIMARY_PORTS.get(label)
        protocols[label] = {
            "services": label_services,
            "hosts": label_hosts[label],
            "ports": len(coverage[label]),
            "iana_port": primary.port if primary else None,
            "iana_port_basis": primary.basis if primary else None,
            "on_iana_port": on_primary.get(label, 0) if primary else None,
            "share_on_iana_port": (_share(on_primary.get(label, 0), label_services)
                                   if primary else None),
            "ports_for_90_percent": ports_for_share(coverage[label]),
            "top_ports": top_ports[label],
        }

    assigned = labels_of_port()
    if services == sum(sum(per_port) for per_port in coverage.values()):
        # Every service has one label: the (label, port) counts are the per-port counts.
        per_port = [(port, sum(labels.values()),
                     sum(labels.get(label, 0) for label in assigned.get(port, ())))
                    for port, labels in mix.items()]
    else:
        run("CREATE OR REPLACE TEMP TABLE primary_ports (label VARCHAR, port INTEGER)")
        connection.executemany("INSERT INTO primary_ports VALUES (?, ?)",
                               [(label, primary.port) for label, primary in PRIMARY_PORTS.items()])
        per_port = run(
            f"""SELECT k.sport, count(DISTINCT k.saddr),
                       count(DISTINCT k.saddr) FILTER (p.label IS NOT NULL)
                FROM {kept} k LEFT JOIN primary_ports p ON p.port = k.sport AND p.label = k.label
                GROUP BY k.sport""").fetchall()
    ports = {}
    for port, port_services, own in sorted(per_port, key=lambda row: (-row[1], row[0])):
        iana_labels = list(assigned.get(port, ()))
        ports[str(port)] = {
            "services": port_services,
            "protocols": mix[port],
            "iana_protocols": iana_labels,
            "share_iana": _share(own, port_services) if iana_labels else None,
        }

    return {
        "services": services,
        "hosts": hosts,
        "pseudo_service_hosts": pseudo_hosts,
        "services_on_pseudo_service_hosts": pseudo_services,
        "pseudo_service_threshold_ports": PSEUDO_SERVICE_PORTS,
        "exclude_pseudo": exclude_pseudo,
        "protocols": protocols,
        "ports": ports,
        "coverage": coverage,
    }
