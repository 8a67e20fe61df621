#!/usr/bin/env bash
# The report and the dashboard, TAP.  The report's sentences follow the
# statistics (a known 5 % shift is reported, an identical variant is "no
# significant difference"), its plots exist, bad input fails cleanly.  The
# dashboard is loaded in headless Chromium: its script must have drawn the
# charts (the DOM is read back, the screenshot has chart pixels), and a page
# whose data is broken must fail the same check.  The screenshot is kept in
# $PINLAB_ARTIFACTS (default build/test-artifacts).
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-report.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
# a signal ends the script through its EXIT trap (bash runs none on an untrapped one)
trap 'exit 143' TERM
trap 'exit 130' INT
art="${PINLAB_ARTIFACTS:-$top/build/test-artifacts}"
mkdir -p "$art"
py=/usr/bin/python3
synth=("$py" "$top/scripts/tests/synth_gb.py")
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
echo "TAP version 13"

# a run: baseline, a variant 5 % slower at 512 pages per call, a copy
run="$tmp/results/20990101-synthetic"
mkdir -p "$run"
fmt='gup_test.pin_longterm/anon/size_kb:4096/ppc:{name}/vmas:1/write:1'
"${synth[@]}" "$run/baseline.det.json" 1 0,0,0 --names 1,512,0 --format "$fmt" --label baseline
"${synth[@]}" "$run/slower.det.json" 2 0,5,0 --names 1,512,0 --format "$fmt" --label slower
cp "$run/baseline.det.json" "$run/same.det.json"
printf 'run: 20990101-synthetic\nhost: test\ncpu: test\nqemu: synthetic\n' >"$run/manifest.txt"
lab=(bash "$top/scripts/lab")
"${lab[@]}" index "$run" >/dev/null
if "${lab[@]}" report "$run" >"$tmp/out" 2>&1; then
	if grep -q '^\*\*slower\*\*: 1 of 3 benchmarks differ' "$run/report.md" &&
		grep -q 'largest +[45]\.[0-9] % on anon at 512 pages per call' "$run/report.md" &&
		grep -q '^\*\*same\*\*: no significant difference' "$run/report.md"; then
		ok "report: the 5 % shift is reported with its figures, the identical variant as no difference"
	else notok "report sentences"; sed 's/^/# /' "$run/report.md"; fi
	if [ -s "$run/plots/ppc-pin_longterm.svg" ] && grep -q "<svg" "$run/plots/ppc-pin_longterm.svg" &&
		grep -q "(plots/ppc-pin_longterm.svg)" "$run/report.md"; then
		ok "report: the pages-per-call plot is written and linked"
	else notok "report plot"; find "$run" | sed 's/^/# /'; fi
	long="$(awk 'length($0) > 80' "$run/report.txt" "$run/compare-slower.txt" | wc -l)"
	if [ "$long" -eq 0 ] && grep -q "^slower: 1 of 3" "$run/report.txt" && grep -q "^- machine: test" "$run/report.txt"; then
		ok "report.txt (setup and sentences) and compare-*.txt fit 80 columns"
	else notok "report.txt: $long long lines"; fi
else
	notok "report failed"; sed 's/^/# /' "$tmp/out"
fi

bad() { # bad DESCRIPTION PATTERN COMMAND...
	local d="$1" pat="$2" rc
	shift 2
	set +e
	"$@" >"$tmp/bo" 2>"$tmp/be"
	rc=$?
	set -e
	if [ "$rc" -eq 2 ] && grep -q "$pat" "$tmp/be" && ! grep -q Traceback "$tmp/be"; then
		ok "bad input: $d -> exit $rc: $(head -1 "$tmp/be")"
	else notok "bad input: $d -> exit $rc"; sed 's/^/# /' "$tmp/be" "$tmp/bo"; fi
}
bad "report of a missing run" "no such run" "${lab[@]}" report "$tmp/nope"
mkdir -p "$tmp/other"
echo '{"jobs": []}' >"$tmp/other/fio.json"
bad "report of a directory that is not a run" "no run.json" "${lab[@]}" report "$tmp/other"
printf 'qemu: x\n' >"$tmp/other/manifest.txt"
"${lab[@]}" index "$tmp/other" >/dev/null
bad "report of a run with another tool's JSON only" "no Google Benchmark result sets" "${lab[@]}" report "$tmp/other"
bad "report with a baseline the run lacks" "no deterministic set for baseline 'nope'" "${lab[@]}" report "$run" --baseline nope
mkdir -p "$tmp/one"
"${synth[@]}" "$tmp/one/baseline.det.json" 1 0 --format "$fmt" --reps 1
"${synth[@]}" "$tmp/one/v.det.json" 1 0 --format "$fmt" --reps 1
printf 'qemu: x\n' >"$tmp/one/manifest.txt"
"${lab[@]}" index "$tmp/one" >/dev/null
bad "report of single repetitions" "single repetition" "${lab[@]}" report "$tmp/one"
bad "dashboard without runs" "no runs with Google Benchmark results" "${lab[@]}" dashboard --results "$tmp/other" --out "$tmp/d0/index.html"

# the dashboard, from the committed runs (what git tracks: nothing else in
# the working tree) plus the synthetic one
(cd "$top" && git ls-files -z results | grep -zv '^results/dashboard/' | xargs -0 cp -P --parents -t "$tmp")   # -P: a review's symlinks stay links
"${lab[@]}" dashboard --results "$tmp/results" --out "$tmp/results/dashboard/index.html"
browser=""
for b in chromium chromium-browser; do command -v "$b" >/dev/null && browser="$b" && break; done
rendered() { # rendered HTML DOM_OUT: load in headless Chromium, check the drawn charts
	local page="$1" dom="$2" status
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
		--virtual-time-budget=10000 --dump-dom "file://$page" >"$dom" 2>"$tmp/chromium.log" || return 1
	status="$(grep -o 'id="status">[^<]*' "$dom" | sed 's/.*>//')"
	echo "$status"
	case "$status" in "ok: "*) ;; *) return 1 ;; esac
	# every chart has points, and there are at least 3 of them
	"$py" - "$dom" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
charts = re.findall(r'<svg[^>]*class="chart"[^>]*data-points="(\d+)"', dom)
shapes = len(re.findall(r'class="(bar|point)"', dom))
print(f"{len(charts)} charts, {shapes} bars/points")
sys.exit(0 if len(charts) >= 3 and all(int(c) > 0 for c in charts) and shapes >= 10 else 1)
PY
}
if [ -z "$browser" ] && [ "${CI:-}" = true ]; then
	notok "dashboard in Chromium: no chromium installed (scripts/deps.sh installs it)"
elif [ -z "$browser" ]; then
	skip "dashboard in Chromium: no chromium installed (scripts/deps.sh installs it)"
else
	if msg="$(rendered "$tmp/results/dashboard/index.html" "$tmp/dom.html")"; then
		ok "dashboard rendered in $("$browser" --version 2>/dev/null | head -1): $(echo "$msg" | tr '\n' ' ')"
	else notok "dashboard did not render: $msg"; tail -5 "$tmp/chromium.log" | sed 's/^/# /'; fi
	if grep -q '20990101-synthetic' "$tmp/dom.html" && grep -q 'slower vs baseline (deterministic)' "$tmp/dom.html"; then
		ok "dashboard lists the synthetic run and flags its 5 % shift"
	else notok "dashboard misses the synthetic run's flag"; fi
	# the default view: no superseded run (results/superseded.toml), the
	# positive control in its own table, met, and none of its flags among
	# the regressions
	if dv="$("$py" - "$tmp/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
runs = dom[dom.index('id="runs"'):dom.index('id="controls"')]
ctl = dom[dom.index('id="controls"'):dom.index('id="flagfilter"')]
flags = dom[dom.index('id="flags"'):dom.index('id="filter"')]
old = "20261122-lab-baseline" in runs
met = re.search(r"known-cost vs baseline \(deterministic\)</td>.*?<td class=\"v\">(met|MISSED)</td>", ctl)
among = "known-cost vs baseline" in flags
print(f"superseded run shown: {old}; known-cost control: {met[1] if met else 'absent'}; "
      f"its flags among changes: {among}")
sys.exit(0 if not old and met and met[1] == "met" and not among else 1)
PY
)"; then ok "dashboard default view: $dv"
	else notok "dashboard default view: $dv"; fi
	# the kernel versions: 6.1's and 6.12's baselines of the committed
	# cross-version run, charted on one axis per mode
	if kv="$("$py" - "$tmp/dom.html" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
vs = dom[dom.index('id="versions"'):dom.index('id="top"')]
charts = re.findall(r"<h3>kernel versions \((\w+)\): ([^<]+)</h3>", vs)
cats = re.findall(r">(6\.1 [^<]*|6\.12 [^<]*)</text>", vs)
print(f"{len(charts)} kernel-version charts ({', '.join(sorted({m for m, _ in charts}))}), axis {sorted(set(cats))[:2]}")
sys.exit(0 if {m for m, _ in charts} == {"deterministic", "wallclock"} and any(c.startswith("6.12") for c in cats) else 1)
PY
)"; then ok "dashboard kernel versions: $kv"
	else notok "dashboard kernel versions: $kv"; fi
	# each "largest flagged change" is charted from the run that flagged it,
	# not from the newest run that has the benchmark
	if own="$("$py" - "$tmp/dom.html" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1]).read()
data = json.loads(html.unescape(re.search(r'<script id="data" type="application/json">(.*?)</script>', dom, re.S)[1]))
top = dom[dom.index('id="top"'):]
titles = re.findall(r"<h3>variants in (\S+) \(deterministic\): ([^<]+)</h3>", top)
flagged = {(f["run"], f["name"]) for f in data["flags"] if f["basis"].startswith("deterministic")}
bad = [t for t in titles if t not in flagged]
print(f"{len(titles)} charts, {len(bad)} from a run that did not flag them {bad[:2]}")
sys.exit(0 if titles and not bad else 1)
PY
)"; then ok "largest flagged changes: $own"
	else notok "largest flagged changes: $own"; fi
	# this run's screenshot only: the one an earlier run kept is removed
	# first, and Chromium failing to take it fails the case
	rm -f "$art/dashboard.png"
	src=0
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
		--virtual-time-budget=10000 --window-size=1400,3600 --screenshot="$art/dashboard.png" \
		"file://$tmp/results/dashboard/index.html" >/dev/null 2>>"$tmp/chromium.log" || src=$?
	if [ "$src" -ne 0 ] || [ ! -s "$art/dashboard.png" ]; then
		px="Chromium's screenshot failed (exit $src, $(tail -1 "$tmp/chromium.log" 2>/dev/null))"
		notok "screenshot: $px"
	elif px="$("$py" - "$art/dashboard.png" <<'PY'
import sys
import matplotlib.image as mpimg
img = mpimg.imread(sys.argv[1])[:, :, :3]
# the charts' first two series colours (#1f77b4, #ff7f0e) as drawn pixels
blue = ((abs(img[:, :, 0] - 0x1f / 255) < 0.05) & (abs(img[:, :, 1] - 0x77 / 255) < 0.05) & (abs(img[:, :, 2] - 0xb4 / 255) < 0.05)).sum()
orange = ((abs(img[:, :, 0] - 1.0) < 0.05) & (abs(img[:, :, 1] - 0x7f / 255) < 0.05) & (abs(img[:, :, 2] - 0x0e / 255) < 0.05)).sum()
print(f"{blue} blue and {orange} orange chart pixels")
sys.exit(0 if blue > 500 and orange > 500 else 1)
PY
)"; then ok "screenshot $art/dashboard.png has the charts: $px"
	else notok "screenshot: $px"; fi
	# the check can fail: the same page with its data broken draws nothing
	sed 's|<script id="data" type="application/json">{|<script id="data" type="application/json">{broken|' \
		"$tmp/results/dashboard/index.html" >"$tmp/results/dashboard/broken.html"
	if msg="$(rendered "$tmp/results/dashboard/broken.html" "$tmp/dom2.html")"; then
		notok "a page with broken data passed the render check: $msg"
	else ok "a page with broken data fails the render check: $(echo "$msg" | head -1)"; fi
fi

tap_end report
