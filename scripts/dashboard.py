#!/usr/bin/python3
"""pinlab's regression dashboard: one self-contained HTML page built from
every run under results/ (no CDN, no network; it opens from the file system).

  dashboard.py [--results DIR] [--out DIR/dashboard/index.html]
               [--alpha 0.05] [--floor 2.0]

For every benchmark: its history across runs (one series per variant and
mode, median with min..max of the repetitions), the variants of its latest
run side by side, and the changes compare.py flags (each variant against its
run's baseline, and each variant against the same variant in the previous
run that has it).  Links to each run's report and raw JSON.  The charts are
drawn by the page's own script into SVG; the page says how many it drew
(id="status"), which the Chromium test reads.
"""
import argparse
import html
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
from pinlab_json import manifest, run_sets  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def primary_metric(reps):
    for m in ("ns_per_page", "iops"):
        if any(m in x for v in reps.values() for x in v):
            return m
    return None


def run_date(rid, man):
    m = re.match(r"^(\d{4})(\d{2})(\d{2})", rid)
    if "date" in man:
        return man["date"][:10]
    return f"{m[1]}-{m[2]}-{m[3]}" if m else "?"


def build(results, out_dir, alpha, floor):
    runs, bench, flags = [], {}, []
    for rid in sorted(os.listdir(results)):
        rdir = os.path.join(results, rid)
        if not os.path.isdir(rdir) or rid in ("dashboard", "tmp"):
            continue
        sets = {k: v for k, v in run_sets(rdir).items() if k[2] == 1 and k[3] in ("", "fio")}
        if not sets:
            continue
        man = manifest(rdir)
        run = dict(id=rid, date=run_date(rid, man),
                   kernel=man.get("base", man.get("kernel", "?")).split(" sha256")[0],
                   mode=man.get("modes", man.get("mode", "")),
                   report=os.path.relpath(os.path.join(rdir, "report.md"), out_dir)
                   if os.path.exists(os.path.join(rdir, "report.md")) else None,
                   sets=[])
        loaded = {}
        for (variant, mode, _, part), path in sorted(sets.items()):
            try:
                _, reps = compare.load(path)
            except compare.CompareError as e:
                print(f"dashboard: skipping {path}: {e}", file=sys.stderr)
                continue
            metric = primary_metric(reps)
            if metric is None:
                continue
            si = len(run["sets"])
            run["sets"].append(dict(variant=variant + (f" {part}" if part else ""), mode=mode, metric=metric,
                                    file=os.path.relpath(path, out_dir)))
            loaded[(variant, mode, part)] = (path, metric)
            for name, bs in reps.items():
                vals = [b[metric] for b in bs if metric in b]
                if vals:
                    bench.setdefault(compare.short(name), []).append(
                        [len(runs), si, round(statistics.median(vals), 3), round(min(vals), 3),
                         round(max(vals), 3), len(vals)])
        runs.append(run)
        # each variant against its run's baseline, same mode
        for (variant, mode, part), (path, metric) in sorted(loaded.items()):
            base = loaded.get(("baseline", mode, part))
            if variant != "baseline" and base and base[1] == metric:
                add_flags(flags, base[0], path, metric, alpha, floor, rid,
                          f"{variant}{' ' + part if part else ''} vs baseline ({mode})")
    # the same variant and mode in the previous run that has it
    last = {}
    for run in runs:
        for s in run["sets"]:
            key = (s["variant"], s["mode"], s["metric"])
            path = os.path.normpath(os.path.join(out_dir, s["file"]))
            if key in last:
                prev_id, prev_path = last[key]
                add_flags(flags, prev_path, path, s["metric"], alpha, floor, run["id"],
                          f"{s['variant']} ({s['mode']}) since {prev_id}")
            last[key] = (run["id"], path)
    if not runs:
        raise SystemExit(f"dashboard: no runs with Google Benchmark results under {results}")
    return dict(runs=runs, bench=bench, flags=flags, alpha=alpha, floor=floor,
                directions={m: ("lower" if v[0] else "higher") for m, v in compare.METRICS.items()})


def add_flags(flags, a, b, metric, alpha, floor, rid, what):
    try:
        res = compare.result(a, b, metric, alpha, floor)
    except compare.CompareError:
        return
    for r in res["rows"]:
        if r["significant"]:
            flags.append(dict(run=rid, what=what, name=compare.short(r["name"]), a=round(r["median_a"], 2),
                              b=round(r["median_b"], 2), change=round(r["change_pct"], 2),
                              ci=[round(r["ci_lo"], 2), round(r["ci_hi"], 2)], p=r["p"], verdict=r["verdict"],
                              warn=[w for w in res["warnings"] if "accelerators" in w or "hosts" in w],
                              basis="deterministic" if res["env_b"].get("mode") == "deterministic"
                              and res["env_a"].get("mode") == "deterministic" else "wall-clock"))


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>pinlab dashboard</title>
<style>
body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222}
h1{margin:.2em 0} h2{margin-top:1.2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
tr.worse td.v{background:#fdd} tr.better td.v{background:#dfd} tr.flag{cursor:pointer}
.charts{display:flex;flex-wrap:wrap;gap:12px} .card{border:1px solid #ccc;padding:4px;background:#fff}
.card h3{font-size:12px;margin:2px 4px;font-weight:normal;max-width:460px;overflow-wrap:anywhere}
svg.chart text{font-size:10px;fill:#333} .note{color:#666;font-size:12px} #status{font-size:12px;color:#666}
#flags{max-height:28em;overflow:auto;display:block}
</style></head><body>
<h1>pinlab dashboard</h1>
<div class="note">Built by <code>scripts/lab dashboard</code> from every run under results/ (generated GENERATED).
Figures: median of the repetitions, bars min..max. Deterministic runs count instructions (1 ns = 1 instruction),
wall-clock runs time; do not read one against the other. A flag needs p &lt; ALPHA (Mann-Whitney U), a 95 % CI
that excludes 0 and a change beyond FLOOR %.</div>
<div id="status">charts not drawn: the page's script did not run</div>
<h2>Runs</h2><table id="runs"></table>
<h2>Flagged changes</h2><div class="note">Click a row to show that benchmark below.</div>
<input id="flagfilter" placeholder="filter flags (regex)" size="40">
<label><input type="checkbox" id="showwall"> show wall-clock flags (two boots compared: repetitions share their boot,
so p-values are optimistic and untouched paths move by tens of %; trust them only beyond the control paths)</label>
<div class="note" id="flagcount"></div><table id="flags"></table>
<h2>Benchmark</h2>
<input id="filter" placeholder="filter benchmarks (regex)" size="40"> <select id="pick"></select>
<div class="charts" id="detail"></div>
<h2>Largest flagged changes</h2><div class="charts" id="top"></div>
<script id="data" type="application/json">DATA</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf"];
let drawn = 0;
function el(tag, attrs, parent, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function h(tag, text, parent) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (parent) parent.appendChild(e); return e; }
function setKey(s) { return s.variant + " (" + s.mode + ")"; }
function fmt(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); }
// a chart: categories on x, one series per key, points {x, y, lo, hi}
function chart(parent, title, cats, series, ylabel, kind) {
  const card = h("div", undefined, parent); card.className = "card";
  h("h3", title, card);
  const W = 480, H = 260, L = 56, R = 10, T = 10, B = 70;
  const svg = el("svg", {width: W, height: H, class: "chart", "data-kind": kind}, card);
  let ymax = 0;
  for (const s of series) for (const p of s.pts) ymax = Math.max(ymax, p.hi, p.y);
  if (!(ymax > 0)) ymax = 1;
  const y = v => T + (H - T - B) * (1 - v / ymax);
  const bw = (W - L - R) / Math.max(cats.length, 1);
  const x = i => L + bw * (i + 0.5);
  el("line", {x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#999"}, svg);
  el("line", {x1: L, y1: T, x2: L, y2: y(0), stroke: "#999"}, svg);
  for (let k = 0; k <= 4; k++) {
    const v = ymax * k / 4;
    el("text", {x: L - 4, y: y(v) + 3, "text-anchor": "end"}, svg, fmt(v));
    el("line", {x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: "#eee"}, svg);
  }
  el("text", {x: 12, y: T + (H - T - B) / 2, transform: "rotate(-90 12 " + (T + (H - T - B) / 2) + ")", "text-anchor": "middle"}, svg, ylabel);
  cats.forEach((c, i) => el("text", {x: x(i), y: y(0) + 12, "text-anchor": "end", transform: "rotate(-30 " + x(i) + " " + (y(0) + 12) + ")"}, svg, c.length > 26 ? c.slice(0, 25) + "…" : c));
  let npts = 0;
  series.forEach((s, si) => {
    const col = COLORS[si % COLORS.length];
    if (kind === "bars") {
      const w = bw * 0.8 / series.length;
      for (const p of s.pts) {
        const x0 = x(p.x) - bw * 0.4 + w * si;
        el("rect", {x: x0, y: y(p.y), width: Math.max(w - 1, 1), height: Math.max(y(0) - y(p.y), 0.5), fill: col, class: "bar"}, svg);
        el("line", {x1: x0 + w / 2, x2: x0 + w / 2, y1: y(p.lo), y2: y(p.hi), stroke: "#000"}, svg);
        npts++;
      }
    } else {
      const pts = s.pts.slice().sort((a, b) => a.x - b.x);
      if (pts.length) el("path", {d: pts.map((p, i) => (i ? "L" : "M") + x(p.x).toFixed(1) + "," + y(p.y).toFixed(1)).join(""), fill: "none", stroke: col, "stroke-width": 1.5, class: "series"}, svg);
      for (const p of pts) {
        el("circle", {cx: x(p.x), cy: y(p.y), r: 3, fill: col, class: "point"}, svg);
        el("line", {x1: x(p.x), x2: x(p.x), y1: y(p.lo), y2: y(p.hi), stroke: col}, svg);
        npts++;
      }
    }
    el("rect", {x: L + 6, y: T + 4 + 12 * si, width: 8, height: 8, fill: col}, svg);
    el("text", {x: L + 18, y: T + 12 + 12 * si}, svg, s.key);
  });
  svg.setAttribute("data-points", npts);
  if (npts > 0) drawn++;
  return svg;
}
function unitOf(name) {
  const rows = D.bench[name] || [];
  const s = rows.length ? D.runs[rows[0][0]].sets[rows[0][1]] : null;
  return s ? s.metric + " (" + D.directions[s.metric] + " is better)" : "";
}
function history(parent, name) {
  const rows = D.bench[name] || [];
  const runIdx = [...new Set(rows.map(r => r[0]))].sort((a, b) => a - b);
  const cats = runIdx.map(i => D.runs[i].date + " " + D.runs[i].id.replace(/^\\d{8}-/, ""));
  const by = {};
  for (const r of rows) {
    const s = D.runs[r[0]].sets[r[1]];
    (by[setKey(s)] = by[setKey(s)] || []).push({x: runIdx.indexOf(r[0]), y: r[2], lo: r[3], hi: r[4]});
  }
  const series = Object.keys(by).sort().map(k => ({key: k, pts: by[k]}));
  return chart(parent, "history: " + name, cats, series, unitOf(name), "lines");
}
function variants(parent, name) {
  const rows = D.bench[name] || [];
  if (!rows.length) return null;
  const last = Math.max(...rows.map(r => r[0]));
  const here = rows.filter(r => r[0] === last);
  const modes = [...new Set(here.map(r => D.runs[last].sets[r[1]].mode))].sort();
  const vars = [...new Set(here.map(r => D.runs[last].sets[r[1]].variant))].sort((a, b) => (a !== "baseline") - (b !== "baseline") || a.localeCompare(b));
  const series = modes.map(m => ({key: m, pts: here.filter(r => D.runs[last].sets[r[1]].mode === m).map(r => ({x: vars.indexOf(D.runs[last].sets[r[1]].variant), y: r[2], lo: r[3], hi: r[4]}))}));
  return chart(parent, "variants in " + D.runs[last].id + ": " + name, vars, series, unitOf(name), "bars");
}
function show(name) {
  const d = document.getElementById("detail");
  d.textContent = "";
  if (!D.bench[name]) return;
  history(d, name);
  variants(d, name);
  document.getElementById("pick").value = name;
}
function fillPick() {
  let re; try { re = new RegExp(document.getElementById("filter").value); } catch (e) { re = /.*/; }
  const sel = document.getElementById("pick");
  sel.textContent = "";
  for (const n of Object.keys(D.bench).sort()) if (re.test(n)) { const o = h("option", n, sel); o.value = n; }
  if (sel.options.length) show(sel.options[0].value);
}
function fillRuns() {
  const t = document.getElementById("runs");
  const hr = h("tr", undefined, t);
  for (const c of ["run", "date", "kernel", "mode", "result sets (raw JSON)", "report"]) h("th", c, hr);
  for (const r of D.runs) {
    const tr = h("tr", undefined, t);
    h("td", r.id, tr); h("td", r.date, tr); h("td", r.kernel, tr); h("td", r.mode, tr);
    const td = h("td", undefined, tr);
    r.sets.forEach((s, i) => { if (i) td.appendChild(document.createTextNode(", ")); const a = h("a", setKey(s), td); a.href = s.file; });
    const tr2 = h("td", undefined, tr);
    if (r.report) { const a = h("a", "report.md", tr2); a.href = r.report; } else tr2.textContent = "-";
  }
}
function fillFlags() {
  let re; try { re = new RegExp(document.getElementById("flagfilter").value); } catch (e) { re = /.*/; }
  const t = document.getElementById("flags");
  t.textContent = "";
  const hr = h("tr", undefined, t);
  for (const c of ["run", "comparison", "benchmark", "before", "after", "change", "95 % CI", "p", ""]) h("th", c, hr);
  let n = 0, hidden = 0;
  const wall = document.getElementById("showwall").checked;
  for (const f of D.flags) {
    if (!re.test(f.run + " " + f.what + " " + f.name)) continue;
    if (f.basis !== "deterministic" && !wall) { hidden++; continue; }
    const tr = h("tr", undefined, t); tr.className = "flag " + f.verdict;
    for (const c of [f.run, f.what, f.name, fmt(f.a), fmt(f.b)]) h("td", c, tr);
    const v = h("td", (f.change > 0 ? "+" : "") + f.change.toFixed(1) + " %", tr); v.className = "v";
    h("td", f.ci[0].toFixed(1) + ".." + f.ci[1].toFixed(1) + " %", tr);
    h("td", f.p < 0.001 ? "<0.001" : f.p.toFixed(3), tr);
    h("td", (f.verdict === "worse" ? "regression" : "improvement") + (f.warn.length ? " (" + f.warn.join("; ") + ")" : ""), tr);
    tr.addEventListener("click", () => { document.getElementById("filter").value = ""; fillPick(); show(f.name); document.getElementById("detail").scrollIntoView(); });
    n++;
  }
  document.getElementById("flagcount").textContent = n + " flags shown" + (hidden ? ", " + hidden + " wall-clock flags hidden" : "");
  if (!n) { const tr = h("tr", undefined, t); h("td", "no significant change flagged", tr); }
}
try {
  fillRuns(); fillFlags(); fillPick();
  const top = document.getElementById("top");
  const seen = new Set();
  for (const f of D.flags.filter(f => f.basis === "deterministic").sort((a, b) => Math.abs(b.change) - Math.abs(a.change))) {
    if (seen.has(f.name) || seen.size >= 6) continue;
    seen.add(f.name); variants(top, f.name);
  }
  if (!seen.size) for (const n of Object.keys(D.bench).sort().slice(0, 6)) history(top, n);
  document.getElementById("filter").addEventListener("input", fillPick);
  document.getElementById("flagfilter").addEventListener("input", fillFlags);
  document.getElementById("showwall").addEventListener("change", fillFlags);
  document.getElementById("pick").addEventListener("change", e => show(e.target.value));
  document.getElementById("status").textContent = "ok: " + drawn + " charts drawn from " + D.runs.length + " runs, " + Object.keys(D.bench).length + " benchmarks, " + D.flags.length + " flagged changes";
} catch (e) {
  document.getElementById("status").textContent = "error: " + e;
}
</script></body></html>
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=os.path.join(TOP, "results"))
    ap.add_argument("--out")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--floor", type=float, default=2.0)
    a = ap.parse_args()
    if not os.path.isdir(a.results):
        sys.exit(f"dashboard: {a.results}: no such directory")
    out = a.out or os.path.join(a.results, "dashboard", "index.html")
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    data = build(a.results, out_dir, a.alpha, a.floor)
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    latest = max(r["date"] for r in data["runs"])
    page = (PAGE.replace("GENERATED", html.escape(f"from {len(data['runs'])} runs, latest {latest}"))
            .replace("ALPHA", str(a.alpha)).replace("FLOOR", str(a.floor)).replace("DATA", blob))
    with open(out + ".tmp", "w") as f:
        f.write(page)
    os.replace(out + ".tmp", out)
    print(f"dashboard: {out}: {len(data['runs'])} runs, {len(data['bench'])} benchmarks, "
          f"{len(data['flags'])} flagged changes, {len(page) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
