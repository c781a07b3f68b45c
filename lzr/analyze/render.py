"""The report as Markdown (for people), JSON (one object) or CSV (one table per section)."""
import csv
import io
import json

FORMATS = ("markdown", "json", "csv")
MIX_SHOWN = 3


def _count(value: int) -> str:
    return f"{value:,}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _table(header: list[str], rows: list[list[str]], align_right: set[int]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in align_right else "---"
                            for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _small_percent(share: float) -> str:
    return "<0.1%" if 0 < share < 0.0005 else _percent(share)


def _mix(protocols: dict[str, int], services: int) -> str:
    shown = [f"{label} {_small_percent(count / services)}"
             for label, count in list(protocols.items())[:MIX_SHOWN]]
    rest = len(protocols) - MIX_SHOWN
    return ", ".join(shown) + (f", {rest} more" if rest > 0 else "")


def _malformed_text(summary: dict) -> str:
    malformed = summary["malformed"]
    total = summary["malformed_lines"]
    if not total:
        return "0"
    kinds = ", ".join(f"{kind.replace('_', ' ')} {_count(malformed[kind])}"
                      for kind in ("not_json", "missing_fields", "wrong_types") if malformed[kind])
    first = malformed["first"]
    where = f"; first: {first['file']} line {first['line']}" if first else ""
    return f"{_count(total)} ({kinds}{where})"


def markdown(summary: dict, *, top_ports_rows: int) -> str:
    """The report as Markdown: totals, per protocol, the busiest ports."""
    out = ["# LZR dataset report", ""]
    files = summary["files"]
    names = ", ".join(f"`{entry['name']}`" for entry in files[:5])
    out.append(f"Read {len(files)} file{'s' if len(files) != 1 else ''}: {names}"
               + (f" and {len(files) - 5} more" if len(files) > 5 else "") + ".")
    for entry in files:
        if entry["damage"]:
            out.append(f"**{entry['name']}: {entry['damage']}**; the {_count(entry['lines'])} "
                       "lines before it were kept.")
    excluded = summary["exclude_pseudo"]
    out += ["", "## Totals", ""]
    pseudo = (f"{_count(summary['pseudo_service_hosts'])} "
              f"({_count(summary['services_on_pseudo_service_hosts'])} services; "
              + ("left out of every table" if excluded
                 else "included; --exclude-pseudo leaves them out")
              + ")")
    rows = [
        ["records", _count(summary["records"])],
        ["malformed lines", _malformed_text(summary)],
        ["real services (data, RST false)", _count(summary["services"])],
        ["hosts with services", _count(summary["hosts"])],
        ["pseudo-service hosts (services on more than "
         f"{summary['pseudo_service_threshold_ports']} ports)", pseudo],
        ["zero-window records", _count(summary["zero_window_records"])],
        ["ACKing-firewall records", _count(summary["acking_firewall_records"])],
    ]
    out += _table(["measure", "value"], rows, {1})

    out += ["", "## Per protocol", ""]
    rows = []
    for label, entry in summary["protocols"].items():
        iana = "-" if entry["iana_port"] is None else str(entry["iana_port"]) + (
            "" if entry["iana_port_basis"] == "IANA" else "*")
        on_iana = "-" if entry["on_iana_port"] is None else _count(entry["on_iana_port"])
        top = ", ".join(f"{port} ({_count(count)})" for port, count in entry["top_ports"])
        rows.append([label, _count(entry["services"]), _count(entry["hosts"]),
                     _count(entry["ports"]), iana, on_iana, _percent(entry["share_on_iana_port"]),
                     _count(entry["ports_for_90_percent"]), top])
    out += _table(["protocol", "services", "hosts", "ports", "IANA port", "on it", "share",
                   "ports for 90%", "top ports (services)"], rows, {1, 2, 3, 4, 5, 6, 7})
    bases = {entry["iana_port_basis"] for entry in summary["protocols"].values()}
    if bases - {None, "IANA"}:
        out += ["", "\\* no IANA assignment of its own: the port its servers use by default."]

    ports = summary["ports"]
    shown = list(ports.items())[:top_ports_rows]
    out += ["", f"## Per port (the {len(shown)} busiest of {_count(len(ports))})", ""]
    rows = [[port, _count(entry["services"]), _mix(entry["protocols"], entry["services"]),
             ", ".join(entry["iana_protocols"]) or "-", _percent(entry["share_iana"])]
            for port, entry in shown]
    out += _table(["port", "services", "protocols", "IANA protocol", "share that is it"],
                  rows, {0, 1, 4})
    return "\n".join(out) + "\n"


def as_json(summary: dict) -> str:
    """The summary as one JSON object: a line per top-level key, and a line per protocol and
    per port in their tables.

    json.dumps with `indent` encodes in pure Python, which took a second on a report of all
    65,535 ports; this layout uses its C encoder for every line and stays easy to grep.
    """
    def line_per_entry(table: dict) -> str:
        entries = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}"
                             for key, value in table.items())
        return "{\n" + entries + "\n }" if table else "{}"

    members = [f" {json.dumps(key)}: "
               + (line_per_entry(value) if key in ("protocols", "ports") else json.dumps(value))
               for key, value in summary.items()]
    return "{\n" + ",\n".join(members) + "\n}\n"


TOTAL_KEYS = ("records", "malformed_lines", "services", "hosts", "pseudo_service_hosts",
              "services_on_pseudo_service_hosts", "zero_window_records", "acking_firewall_records")


def csv_tables(summary: dict) -> dict[str, str]:
    """Three CSV tables by name: totals, protocols, ports."""
    def table(header: list[str], rows) -> str:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return text.getvalue()

    malformed = summary["malformed"]
    first = malformed["first"] or {}
    totals = [[key, summary[key]] for key in TOTAL_KEYS]
    totals += [[f"malformed_{kind}", malformed[kind]]
               for kind in ("not_json", "missing_fields", "wrong_types")]
    totals += [["first_malformed_file", first.get("file", "")],
               ["first_malformed_line", first.get("line", "")]]
    protocols = [[label, entry["services"], entry["hosts"], entry["ports"],
                  entry["iana_port"] or "",
                  "" if entry["on_iana_port"] is None else entry["on_iana_port"],
                  "" if entry["share_on_iana_port"] is None else entry["share_on_iana_port"],
                  entry["ports_for_90_percent"],
                  " ".join(f"{port}:{count}" for port, count in entry["top_ports"])]
                 for label, entry in summary["protocols"].items()]
    ports = [[port, entry["services"],
              " ".join(f"{label}:{count}" for label, count in entry["protocols"].items()),
              " ".join(entry["iana_protocols"]),
              "" if entry["share_iana"] is None else entry["share_iana"]]
             for port, entry in summary["ports"].items()]
    return {
        "totals": table(["measure", "value"], totals),
        "protocols": table(["protocol", "services", "hosts", "ports", "iana_port", "on_iana_port",
                            "share_on_iana_port", "ports_for_90_percent", "top_ports"], protocols),
        "ports": table(["port", "services", "protocols", "iana_protocols", "share_iana"], ports),
    }


def as_csv(summary: dict) -> str:
    """The three CSV tables one after the other, a blank line between them."""
    return "\n".join(csv_tables(summary).values())
