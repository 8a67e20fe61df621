"""Calibration against the kernel's own tool: the base's gup_test selftest
(tools/testing/selftests/vm/gup_test.c in 6.1, .../mm/ in 6.12; unmodified,
static) runs in the
guest on the cases pinbench's gup_test probes run too (scripts/guest/
calibrate.sh); this pairs each case with pinbench's figure of it and
writes calibration.json.  Both read the same kernel clock (ktime) around
the same GUP loop, so their per-page figures must agree: a ratio outside
0.9-1.1 fails the boot.

The selftest prints microseconds per pass; per page that is
get_us * 1000 / pages (under -icount, instructions like pinbench's).  Only
deterministic boots are judged (see WALLCLOCK).

Deterministic figures are set side by side by their minimum over the
repetitions (pinbench's) and the repeats (the selftest's): under -icount an
interrupt, or a call that happens to fall back to the slow path, only ever
adds instructions to the pass it lands in, and with two repetitions a
median is a mean, which one such pass pulls (7.3's smoke matrix: one of
pinbench's 4 pin_fast hugetlb_2m calls took +19k instructions, its median
1.59x the selftest's).  The minimum is the path itself on both sides; the
other figures stay in calibration.json.  Wall-clock figures use medians."""
import json
import os
import re
import statistics

from . import PinlabError, metrics, store

LOW, HIGH = 0.9, 1.1
# cases reported but not judged, with the reason: 6.1's selftest maps its
# -t buffer from private /dev/zero, which 6.1 does not THP-align, and does
# not check what it got; in the lab its fast-path figures sit between 4K
# and THP (part of its buffer is 4K pages), while pinbench's thp backing
# verifies that every page is a THP
NOT_JUDGED = {"thp": "the selftest does not check that its -t buffer is THP (its private /dev/zero "
                     "mapping is not THP-aligned, and part of it is 4K pages)"}
# wall-clock boots: reported, not judged.  The two tools' passes run at
# different moments of one TCG boot, whose speed moves by more than 10 %,
# and the selftest prints whole microseconds (at 4 MiB of hugetlb, a pass
# is a few of them); under -icount both count the same instructions
WALLCLOCK = ("wall-clock: reported, not judged (the two tools time different moments of one TCG boot, and the "
             "selftest prints whole microseconds)")
PROBE = {"-u": "gup_test.gup_fast", "-a": "gup_test.pin_fast", "-L": "gup_test.pin_longterm"}
BACKING = {"anon": "anon", "thp": "thp", "hugetlb": "hugetlb_2m", "shmem": "shmem"}
STOCK = {"-u": "GUP_FAST_BENCHMARK", "-a": "PIN_FAST_BENCHMARK", "-L": "PIN_LONGTERM_BENCHMARK"}


def parse_selftest(text):
    """[(flag, backing, size_mb, ppc, [get_us per repeat])] from calibrate.sh's output."""
    out, cur = [], None
    for line in text.splitlines():
        m = re.match(r"^case (-[uaL]) (\w+) (\d+) (\d+)$", line)
        if m:
            cur = (m[1], m[2], int(m[3]), int(m[4]), [])
            out.append(cur)
            continue
        # 6.1 prints the line as it is, 6.12's (kselftest TAP) after "# "
        m = re.match(r"^(?:# )?(\w+): Time: get:(\d+) put:(\d+) us(.*)$", line)
        if m and cur:
            if m[1] != STOCK[cur[0]]:
                raise PinlabError(f"selftest case {cur[0]} {cur[1]} printed {m[1]}")
            if "truncated" in m[4]:
                raise PinlabError(f"selftest case {cur[0]} {cur[1]}: {m[4].strip(', ')}")
            cur[4].append(int(m[2]))
    if "calibration: done" not in text:
        raise PinlabError("the selftest's calibration did not finish (calibration-selftest.txt)")
    return out


def calibrate(selftest_txt, pinbench_jsons, mode):
    """The calibration rows, against every pinbench set of the boot;
    raises PinlabError when a case cannot be paired."""
    with open(selftest_txt, errors="replace") as f:
        cases = parse_selftest(f.read())
    reps = {}
    for path in pinbench_jsons:
        for name, bs in store.load_gbench(path, mode)[1].items():
            reps.setdefault(name, []).extend(bs)
    metric = metrics.primary("pinbench", mode)
    rows = []
    for flag, bk, size_mb, ppc, get_us in cases:
        if not get_us:
            raise PinlabError(f"selftest case {flag} {bk}: no timing line")
        name = f"{PROBE[flag]}/{BACKING[bk]}/size_kb:{size_mb * 1024}/ppc:{ppc}/vmas:1/write:1"
        pat = re.compile("^" + re.escape(name) + r"/(iterations:\d+/)?manual_time$")
        vals = [b[metric] for n, bs in reps.items() if pat.match(n) for b in bs if metric in b]
        if not vals:
            raise PinlabError(f"pinbench has no {name} to set beside the selftest's {flag} {bk}")
        pages = size_mb * 1024 // 4
        agg = min if mode == "deterministic" else statistics.median
        up = agg(get_us) * 1000 / pages
        pb = agg(vals)
        rows.append(dict(case=f"{PROBE[flag]} {BACKING[bk]}", selftest=f"gup_test {flag} -n {ppc} -m {size_mb}",
                         pinbench_per_page=round(pb, 2), upstream_per_page=round(up, 2), of=agg.__name__,
                         pinbench_repetitions=[round(v, 2) for v in vals],
                         ratio=round(pb / up, 4) if up else None, unit=metrics.get(metric).unit,
                         upstream_repeats=get_us, judged=bk not in NOT_JUDGED and mode == "deterministic",
                         note=NOT_JUDGED.get(bk, "" if mode == "deterministic" else WALLCLOCK)))
    return rows


def write(bdir, mode):
    """calibration.json in a boot's directory when its job ran the selftest;
    returns the boot's failure reasons (none when it did not run it)."""
    st = os.path.join(bdir, "calibration-selftest.txt")
    if not os.path.exists(st):
        return []
    try:
        sets = sorted({re.sub(r"\.xz$", "", f) for f in os.listdir(bdir) if re.match(r"pinbench.*\.json", f)})
        rows = calibrate(st, [store.resolve(os.path.join(bdir, f)) for f in sets], mode)
    except PinlabError as e:
        return [f"calibration: {e}"]
    bad = [r for r in rows if r["judged"] and (r["ratio"] is None or not LOW <= r["ratio"] <= HIGH)]
    with open(os.path.join(bdir, "calibration.json"), "w") as f:
        json.dump(dict(mode=mode, bounds=[LOW, HIGH], rows=rows), f, indent=1)
    return [f"calibration: {r['case']}: pinbench {r['pinbench_per_page']} vs selftest {r['upstream_per_page']} "
            f"{r['unit']}/page, ratio {r['ratio']} outside {LOW}-{HIGH}" for r in bad]


def table(path):
    """Markdown lines of a calibration.json."""
    d = store.load_json(path)
    unit = d["rows"][0]["unit"] if d["rows"] else ""
    out = [f"| case | selftest | pinbench {unit}/page | selftest {unit}/page | ratio |", "|---|---|---|---|---|"]
    out += [f"| {r['case']} | `{r['selftest']}` | {r['pinbench_per_page']:.1f} | {r['upstream_per_page']:.1f} | "
            f"{r['ratio']:.3f}{'' if r.get('judged', True) else ' (not judged)'} |" for r in d["rows"]]
    notes = sorted({r["note"] for r in d["rows"] if r.get("note")})
    return out + [""] + [f"Not judged: {n}." for n in notes] if notes else out
