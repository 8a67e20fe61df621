"""Turn a fio runner directory (workloads/fio/run.sh --out DIR) into a
Google Benchmark JSON that compare, report and dashboard read beside the
microbenchmarks, and a Markdown summary.

  scripts/lab fio-results DIR OUT.json [--label L] [--summary OUT.md]

One benchmark per job (fio.FAMILY/BUFFER/bs:B/rw:RW[/node:N]), one
repetition per fio run, with the counters iops, bw_MiBps, clat_p50_us,
clat_p99_us (completion latency percentiles), sys_cpu_pct, usr_cpu_pct,
ios, what backed the buffer mid-run (thp_kb, hugetlb_kb, node pages), and
perf stat's events when the runner had --perf-stat.  real_time is the mean
time per I/O (1/IOPS).  A refusal the job expects (io_uring fixedbufs on
FS-DAX) is recorded as "EXPECTED: ...", a skip as "SKIP: ...", a failure
as "ERROR: ...": exit 1 when there is any failure or the raw JSON is bad.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

from . import TOP


def perf_csv(path):
    """perf stat -x, output -> {event: value} (not-counted events left out)."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) < 3 or line.startswith("#") or not parts[0]:
                    continue
                try:
                    v = float(parts[0])
                except ValueError:
                    continue  # <not supported>, <not counted>
                ev = re.sub(r"[^A-Za-z0-9_]", "_", parts[2]).strip("_")
                out[f"perf_{ev}"] = v
    except OSError:
        pass
    return out


def figures(raw, rw):
    """Key figures of one fio JSON (raises ValueError on a bad file)."""
    with open(raw) as f:
        text = f.read()
    # fio may print notes before the JSON object
    d = json.loads(text[text.index("{"):])
    job = d["jobs"][0]
    if job.get("error"):
        raise ValueError(f"fio job error {job['error']}")
    side = job["write" if "write" in rw else "read"]
    pct = side["clat_ns"].get("percentile", {})
    iops = float(side["iops"])
    if iops <= 0:
        raise ValueError("no I/O completed")
    return dict(iops=iops, bw_MiBps=side["bw_bytes"] / 2 ** 20,
                clat_p50_us=pct.get("50.000000", 0) / 1000, clat_p99_us=pct.get("99.000000", 0) / 1000,
                clat_mean_us=side["clat_ns"]["mean"] / 1000, sys_cpu_pct=float(job["sys_cpu"]),
                usr_cpu_pct=float(job["usr_cpu"]), ios=float(side["total_ios"]),
                runtime_ms=float(side["runtime"])), d.get("fio version", "?")


def read_runner(d):
    """(rows of runs.tsv, env.txt as a dict) of a runner directory."""
    tsv = os.path.join(d, "runs.tsv")
    if not os.path.exists(tsv):
        sys.exit(f"fio-results: {tsv}: no such file (not a workloads/fio/run.sh output)")
    env = {}
    if os.path.exists(os.path.join(d, "env.txt")):
        with open(os.path.join(d, "env.txt")) as f:
            env = dict(line.rstrip("\n").partition("=")[::2] for line in f)
    rows = []
    with open(tsv) as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                sys.exit(f"fio-results: {tsv}:{n}: malformed line")
            rows.append(parts)
    if not rows:
        sys.exit(f"fio-results: {tsv}: no runs")
    return rows, env


def outcome(b, status):
    """A run that did not measure: its Google Benchmark error; 1 if it is a failure."""
    b.update(real_time=0, cpu_time=0, error_occurred=True)
    if status == "expected-refusal":
        b["error_message"] = "EXPECTED: io_uring buffer registration (FOLL_LONGTERM) refused on FS-DAX with EOPNOTSUPP"
    elif status.startswith("skip:"):
        b["error_message"] = "SKIP: " + status[5:]
    else:
        b["error_message"] = "ERROR: " + status.partition(":")[2]
        return 1
    return 0


def benchmarks_of(d, rows):
    """(Google Benchmark entries, failures, fio version): one entry per fio run."""
    reps_of = {}
    for name, *_ in rows:
        reps_of[name] = reps_of.get(name, 0) + 1
    out, errors, fio_version, seen = [], 0, "?", {}
    for name, rep, status, rawname, notes in rows:
        i = seen[name] = seen.get(name, -1) + 1
        b = dict(name=name, family_index=0, per_family_instance_index=0, run_name=name, run_type="iteration",
                 repetitions=reps_of[name], repetition_index=i, threads=1, iterations=1, time_unit="us")
        for kv in notes.split():
            k, _, v = kv.partition("=")
            if v.isdigit():
                b[k if k.endswith("_kb") else f"node{k[1:]}_pages"] = float(v)
        if status == "ok":
            try:
                fig, fio_version = figures(os.path.join(d, "raw", rawname), re.search(r"rw:(\w+)", name)[1])
            except (OSError, ValueError, KeyError, IndexError) as e:
                status = f"error:bad fio JSON {rawname}: {e}"
            else:
                b.update(fig)
                b["real_time"] = b["cpu_time"] = 1e6 / fig["iops"]
                b.update(perf_csv(os.path.join(d, "raw", rawname[:-5] + ".perf.csv")))
        if status != "ok":
            errors += outcome(b, status)
        out.append(b)
    return out, errors, fio_version


def summary(benchmarks):
    by = {}
    for b in benchmarks:
        by.setdefault(b["name"], []).append(b)
    lines = ["| job | runs | IOPS (median) | MiB/s | clat p50 us | clat p99 us | sys CPU % | buffer backing |",
             "|---|---|---|---|---|---|---|---|"]
    for name, bs in by.items():
        ok = [x for x in bs if not x.get("error_occurred")]
        if not ok:
            lines.append(f"| {name} | {len(bs)} | {bs[0]['error_message']} | | | | | |")
            continue
        med = {k: statistics.median(x[k] for x in ok) for k in
               ("iops", "bw_MiBps", "clat_p50_us", "clat_p99_us", "sys_cpu_pct")}
        back = ", ".join(f"{k}={int(ok[0][k])}" for k in ("thp_kb", "hugetlb_kb", "node0_pages", "node1_pages")
                         if ok[0].get(k))
        lines.append(f"| {name} | {len(ok)} | {med['iops']:.0f} | {med['bw_MiBps']:.1f} | "
                     f"{med['clat_p50_us']:.1f} | {med['clat_p99_us']:.1f} | {med['sys_cpu_pct']:.1f} | {back} |")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/lab fio-results", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--label", default="")
    ap.add_argument("--summary")
    a = ap.parse_args(argv)
    rows, env = read_runner(a.dir)
    benchmarks, errors, fio_version = benchmarks_of(a.dir, rows)
    rev = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    ctx = dict(date=env.get("date", ""), pinlab_revision=rev, host_name=os.uname().nodename, executable="fio",
               num_cpus=os.cpu_count(), generator="pinlab fio-results (no Google Benchmark library)", label=a.label,
               kernel_release=env.get("kernel_release", "?"), fio_version=env.get("fio_version", fio_version),
               thp_enabled=env.get("thp_enabled_before", "?"), numa_nodes=env.get("numa_nodes", "?"),
               fio_target=env.get("target", "?"), fio_args=env.get("args", ""),
               perf_events=env.get("perf_events", ""))
    with open(a.out, "w") as f:
        json.dump(dict(context=ctx, benchmarks=benchmarks), f, indent=1)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write("\n".join(summary(benchmarks)) + "\n")
    n_ok = sum(not b.get("error_occurred") for b in benchmarks)
    n_exp = sum(b.get("error_message", "").startswith("EXPECTED") for b in benchmarks)
    n_skip = sum(b.get("error_message", "").startswith("SKIP") for b in benchmarks)
    print(f"fio-results: {a.out}: {n_ok} runs measured, {n_exp} expected refusals, {n_skip} skipped, {errors} failed")
    return 1 if errors else 0
