"""`lzr analyze` on a generated LZR dataset of at least 0.5 GB of gzip, beside `zcat` of the same file.

Generates a realistic .json.gz (lzr.analyze.synth; gzip -6 as the dataset's was) in a
temporary directory, then runs, alternately and --runs times each, the commands a user runs:

    zcat FILE > /dev/null
    lzr analyze FILE --format json --quiet > /dev/null

and prints each wall time, the CPU time, the ratio to zcat (target: 0.8 or less; zcat inflates
on one core, lzr analyze inflates and parses on all), lzr analyze's peak RSS (target: 2 GB or
less), the CPU seconds each spends per GB of text (steadier than wall time on a shared
machine) and the time the whole 7.9 GB LZR dataset would take at the same speed. The file is
deleted at the end (--keep keeps it; --file FILE measures an existing one instead).

The machine may be shared: figures are noisy; compare the ratios of one run, not across runs.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from lzr.analyze.sources import Source, text_blocks
from lzr.analyze.synth import Generator

LZR_DATASET_BYTES = 7.9e9


def generate(path: str, target_bytes: float) -> tuple[int, float]:
    """Writes the dataset through `gzip -6` (another core); returns its records and the time."""
    start = time.monotonic()
    with open(path, "wb") as out:
        compressor = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        generator = Generator(compressor.stdin, seed=2020)
        hosts = 0

        def big_enough() -> bool:
            nonlocal hosts
            hosts += 1
            return hosts % 2000 == 0 and os.path.getsize(path) >= target_bytes

        generator.write_until(big_enough)
        compressor.stdin.close()
        if compressor.wait() != 0:
            sys.exit("bench: gzip failed")
    return generator.truth.records, time.monotonic() - start


def text_bytes(path: str) -> int:
    """The size of the file's plain text (inflated once, in this process)."""
    with open(path, "rb") as stream:
        return sum(len(block) for block in text_blocks(stream, Source(path)))


def timed(argv: list[str], stdout) -> tuple[float, float, int]:
    """Runs a command; returns its wall time, CPU time (user + system) and peak RSS in bytes."""
    start = time.monotonic()
    process = subprocess.Popen(argv, stdout=stdout)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bytes", type=float, default=0.55e9,
                        help="size of the generated .json.gz (default 0.55e9)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each command (default 2)")
    parser.add_argument("--file", help="measure this LZR .json.gz instead of generating one")
    parser.add_argument("--dir", default=None, help="where to generate (default: the temp directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()

    lzr = shutil.which("lzr") or os.path.join(os.path.dirname(sys.executable), "lzr")
    workdir = None
    records = None
    if args.file:
        path = args.file
    else:
        workdir = tempfile.mkdtemp(prefix="lzr-bench-analyze-", dir=args.dir)
        path = os.path.join(workdir, "lzr-synthetic.json.gz")
        records, seconds = generate(path, args.bytes)
        print(f"generated {records:,} records, {os.path.getsize(path) / 1e9:.2f} GB of gzip "
              f"in {seconds:.0f} s: {path}")
    size = os.path.getsize(path)
    text = text_bytes(path)
    print(f"file: {size / 1e9:.3f} GB gzip, {text / 1e9:.2f} GB of text; cores: {os.cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    rows = []
    try:
        for run in range(1, args.runs + 1):
            with open(os.devnull, "wb") as null:
                zcat_wall, zcat_cpu, _ = timed(["zcat", path], null)
            report_path = os.path.join(workdir or tempfile.gettempdir(), "bench-report.json")
            with open(report_path, "wb") as report_file:
                wall, cpu, rss = timed([lzr, "analyze", path, "--format", "json", "--quiet"],
                                       report_file)
            with open(report_path) as report_file:
                report = json.load(report_file)
            os.unlink(report_path)
            if records is not None and report["records"] != records:
                sys.exit(f"bench: lzr analyze counted {report['records']:,} records, "
                         f"the generator wrote {records:,}")
            ratio = wall / zcat_wall
            rows.append((zcat_wall, wall, ratio, rss, zcat_cpu, cpu))
            print(f"run {run}: zcat {zcat_wall:6.2f} s (cpu {zcat_cpu:5.2f} s) | lzr analyze "
                  f"{wall:6.2f} s (cpu {cpu:5.2f} s, peak RSS {rss / 2**20:5.0f} MiB, "
                  f"{report['records']:,} records, {report['services']:,} services) | "
                  f"ratio {ratio:.2f}")
    finally:
        if workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    median_ratio = statistics.median(row[2] for row in rows)
    best_wall = min(row[1] for row in rows)
    peak = max(row[3] for row in rows)
    estimate = best_wall * LZR_DATASET_BYTES / size
    print(f"ratio to zcat: median {median_ratio:.2f}, best {min(row[2] for row in rows):.2f} "
          f"(target <= 0.80) | peak RSS {peak / 2**30:.2f} GiB (target <= 2) | "
          f"{size / best_wall / 1e6:.0f} MB/s of gzip")
    print(f"estimated time for the 7.9 GB LZR dataset on this machine: {estimate / 60:.1f} min "
          f"({estimate:.0f} s; zcat: {min(row[0] for row in rows) * LZR_DATASET_BYTES / size:.0f} s)")
    # What the same work takes where nothing else runs: CPU time spread over the cores, against
    # zcat's CPU time on its one core.
    cpu = min(row[5] for row in rows)
    zcat_cpu = min(row[4] for row in rows)
    cores = os.cpu_count() or 1
    print(f"CPU per GB of text: lzr analyze {cpu / text * 1e9:.2f} s, zcat {zcat_cpu / text * 1e9:.2f} s")
    print(f"CPU time: lzr analyze {cpu:.1f} s, zcat {zcat_cpu:.1f} s; on {cores} idle cores "
          f"lzr analyze would take at least {cpu / cores:.1f} s, ratio {cpu / cores / zcat_cpu:.2f}, "
          f"7.9 GB in {cpu / cores * LZR_DATASET_BYTES / size / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
