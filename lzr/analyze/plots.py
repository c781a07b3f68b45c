"""The report's two figures as PNG files (matplotlib, imported only here).

* `coverage.png`: for each protocol, the share of its services found by scanning only its k
  busiest ports, against k (the paper's coverage curves: how many ports a scan needs to find
  90% of HTTP);
* `iana-share.png`: for each protocol with an IANA port, the share of its services on it.
"""
import os

PLOTTED_PROTOCOLS = 8
COVERAGE_FILE = "coverage.png"
IANA_SHARE_FILE = "iana-share.png"


def write(summary: dict, coverage: dict[str, list[int]], directory: str) -> list[str]:
    """Writes the figures into `directory`; returns their paths."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    busiest = list(summary["protocols"])[:PLOTTED_PROTOCOLS]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for label in busiest:
        per_port = coverage[label]
        total = sum(per_port)
        covered, shares = 0, []
        for count in per_port:
            covered += count
            shares.append(covered / total)
        axes.step(range(1, len(shares) + 1), shares, where="post", label=label)
    axes.set_xscale("log")
    axes.set_xlim(1, 65535)
    axes.set_ylim(0, 1.01)
    axes.axhline(0.9, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xlabel("ports scanned (the protocol's busiest first)")
    axes.set_ylabel("share of the protocol's services found")
    axes.set_title("Coverage by number of ports")
    axes.legend(fontsize="small")
    figure.tight_layout()
    coverage_path = os.path.join(directory, COVERAGE_FILE)
    figure.savefig(coverage_path, dpi=110)
    pyplot.close(figure)

    with_port = [(label, entry["share_on_iana_port"])
                 for label, entry in summary["protocols"].items()
                 if entry["share_on_iana_port"] is not None][:2 * PLOTTED_PROTOCOLS]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    bars = axes.bar([label for label, _ in with_port], [100 * share for _, share in with_port])
    axes.bar_label(bars, fmt="%.1f", fontsize="small")
    axes.set_ylim(0, 100)
    axes.set_ylabel("services on the IANA port (%)")
    axes.set_title("Share of each protocol's services on its IANA port")
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    share_path = os.path.join(directory, IANA_SHARE_FILE)
    figure.savefig(share_path, dpi=110)
    pyplot.close(figure)
    return [coverage_path, share_path]
