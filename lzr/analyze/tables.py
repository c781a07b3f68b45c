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


def build(connection: duckdb.DuckDBPyConnection, *, exclude_pseudo: bool, top: int) -> Report:
    """Tables from `staged` (see lzr.analyze.ingest); totals of the input are added by the caller."""
    run = connection.execute
    run("CREATE OR REPLACE TEMP TABLE services AS "
        "SELECT DISTINCT saddr, sport, label FROM staged WHERE saddr IS NOT NULL")
    run("CREATE OR REPLACE TEMP TABLE pseudo_hosts AS SELECT saddr, count(DISTINCT sport) AS ports "
        f"FROM services GROUP BY saddr HAVING count(DISTINCT sport) > {PSEUDO_SERVICE_PORTS}")
    kept = ("(SELECT * FROM services WHERE saddr NOT IN (SELECT saddr FROM pseudo_hosts))"
            if exclude_pseudo else "services")
    run("CREATE OR REPLACE TEMP TABLE primary_ports (label VARCHAR, port INTEGER)")
    connection.executemany("INSERT INTO primary_ports VALUES (?, ?)",
                           [(label, primary.port) for label, primary in PRIMARY_PORTS.items()])

    pseudo_hosts, pseudo_services = run(
        "SELECT count(*), coalesce(sum(ports), 0)::BIGINT FROM pseudo_hosts").fetchone()
    services, hosts = run(
        f"SELECT count(*), count(DISTINCT saddr) FROM (SELECT DISTINCT saddr, sport FROM {kept})"
    ).fetchone()

    per_label_port = run(
        f"SELECT label, sport, count(*) AS n FROM {kept} GROUP BY ALL "
        "ORDER BY label, n DESC, sport").fetchall()
    coverage: dict[str, list[int]] = {}
    top_ports: dict[str, list[list[int]]] = {}
    mix: dict[int, dict[str, int]] = {}
    for label, port, count in per_label_port:
        coverage.setdefault(label, []).append(count)
        ranked = top_ports.setdefault(label, [])
        if len(ranked) < top:
            ranked.append([port, count])
        mix.setdefault(port, {})[label] = count

    protocols = {}
    for label, label_services, label_hosts, label_ports, on_primary in run(
            f"""SELECT k.label, count(*) AS n, count(DISTINCT k.saddr), count(DISTINCT k.sport),
                       count(*) FILTER (k.sport = p.port)
                FROM {kept} k LEFT JOIN primary_ports p USING (label)
                GROUP BY k.label ORDER BY n DESC, k.label""").fetchall():
        primary = PRIMARY_PORTS.get(label)
        protocols[label] = {
            "services": label_services,
            "hosts": label_hosts,
            "ports": label_ports,
            "iana_port": primary.port if primary else None,
            "iana_port_basis": primary.basis if primary else None,
            "on_iana_port": on_primary if primary else None,
            "share_on_iana_port": _share(on_primary, label_services) if primary else None,
            "ports_for_90_percent": ports_for_share(coverage[label]),
            "top_ports": top_ports[label],
        }

    assigned = labels_of_port()
    ports = {}
    for port, port_services, own in run(
            f"""SELECT k.sport, count(DISTINCT k.saddr) AS n,
                       count(DISTINCT k.saddr) FILTER (p.label IS NOT NULL)
                FROM {kept} k LEFT JOIN primary_ports p ON p.port = k.sport AND p.label = k.label
                GROUP BY k.sport ORDER BY n DESC, k.sport""").fetchall():
        iana_labels = list(assigned.get(port, ()))
        ports[str(port)] = {
            "services": port_services,
            "protocols": dict(sorted(mix[port].items(), key=lambda item: (-item[1], item[0]))),
            "iana_protocols": iana_labels,
            "share_iana": _share(own, port_services) if iana_labels else None,
        }

    summary = {
        "services": services,
        "hosts": hosts,
        "pseudo_service_hosts": pseudo_hosts,
        "services_on_pseudo_service_hosts": pseudo_services,
        "pseudo_service_threshold_ports": PSEUDO_SERVICE_PORTS,
        "exclude_pseudo": exclude_pseudo,
        "protocols": protocols,
        "ports": ports,
    }
    return Report(summary, coverage)
