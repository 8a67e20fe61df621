#!/usr/bin/python3
"""Write a synthetic Google Benchmark JSON for the comparison's tests.

  synth_gb.py OUT SEED SHIFTS [--reps N] [--noise PCT] [--label L]

SHIFTS is a comma list of percentages: one benchmark per shift, named
synth/shift:<pct>, whose ns_per_page is 100 * (1 + shift/100) times
lognormal noise of sigma PCT % (fixed SEED).  With shift 0 everywhere it
is the "before" side.
"""
import argparse
import json
import math
import random

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("seed", type=int)
ap.add_argument("shifts")
ap.add_argument("--reps", type=int, default=9)
ap.add_argument("--noise", type=float, default=0.5)
ap.add_argument("--label", default="synthetic")
ap.add_argument("--names", help="comma list of shift names (default: the shifts)")
ap.add_argument("--format", default="synth/shift:{name}", help="benchmark name, {name} replaced")
a = ap.parse_args()
rnd = random.Random(a.seed)
shifts = [float(x) for x in a.shifts.split(",")]
names = a.names.split(",") if a.names else a.shifts.split(",")
benchmarks = []
for name, shift in zip(names, shifts):
    run = a.format.replace("{name}", name) + "/manual_time"
    for i in range(a.reps):
        v = 100 * (1 + shift / 100) * math.exp(rnd.gauss(0, a.noise / 100))
        benchmarks.append(dict(name=run, run_name=run, run_type="iteration", repetitions=a.reps,
                               repetition_index=i, threads=1, iterations=10, real_time=v * 1024 / 1000,
                               cpu_time=v * 1024 / 1000, time_unit="us", ns_per_page=v, pages=1024))
with open(a.out, "w") as f:
    json.dump(dict(context=dict(host_name="synthetic", label=a.label, num_cpus=1), benchmarks=benchmarks), f)
