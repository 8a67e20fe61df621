#!/usr/bin/env bash
# The fleet for real, TAP: a private LAVA (Debian's lava-server and
# lava-dispatcher, PostgreSQL of its own, every port free, state in a
# temporary directory) with two `qemu` devices; bad input refused in one
# line; the smoke matrix's deterministic boots made by the local engine
# and by --engine lava, figure for figure identical, while the worker is
# killed mid-run (each lost boot cancelled, submitted once more and
# recorded); the bare-metal job template validated by the server; nothing
# left running afterwards.
set -euo pipefail

top="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d /tmp/pinlab-lavatest.XXXXXX)"
chmod 755 "$tmp" # PostgreSQL runs as its own user, its cluster below
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# shellcheck source=scripts/tests/tap.sh
. "$top/scripts/tests/tap.sh"
lab=(bash "$top/scripts/lab")

missing=""
for p in postgresql lava-server lava-dispatcher; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "${CI:-}" = true ]; then
		echo "1..1"
		notok "LAVA packages missing under CI:$missing (scripts/deps.sh lava installs them)"
		exit 1
	fi
	echo "1..0 # SKIP LAVA packages missing:$missing (scripts/deps.sh lava)"
	exit 0
fi
echo "1..13"

# procs: this test's LAVA and lab processes still alive (by their state
# directory), one a line
procs() {
	pgrep -af -- "$tmp/" || true
}

# why LOG: a failed run's first line that says why (its FAILED or error
# line, else its last), for the TAP line
why() {
	{ grep -m1 "FAILED\|error\|Traceback" "$1" || tail -1 "$1"; } 2>/dev/null | cut -c1-300
}

# one_line_error WHAT ARGS...: the run refuses before building anything,
# one line on stderr and a non-zero exit
one_line_error() {
	local what="$1" rc=0
	shift
	PINLAB_RESULTS="$tmp/res" "${lab[@]}" run --variants baseline --matrix smoke --deterministic "$@" \
		>"$tmp/err.out" 2>"$tmp/err.log" || rc=$?
	if [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/err.log")" -eq 1 ] && [ ! -s "$tmp/err.out" ] &&
		grep -q "$what" "$tmp/err.log"; then
		ok "bad input, exit $rc: $(cat "$tmp/err.log")"
	else
		notok "bad input '$what' (exit $rc)"
		sed 's/^/# /' "$tmp/err.log" | head -5
	fi
}

# -- stand it up ----------------------------------------------------------
mkdir -p "$tmp/res"
t0=$(date +%s)
"${lab[@]}" lava-server --state "$tmp/lava" --devices 2 >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for _ in $(seq 1 240); do
	grep -q "^devices:" "$tmp/server.out" 2>/dev/null && break
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.5
done
url="$(awk '/^url:/ { print $2 }' "$tmp/server.out")"
token="$(awk '/^token-file:/ { print $2 }' "$tmp/server.out")"
if [ -n "$url" ]; then
	ok "LAVA stood up in $(($(date +%s) - t0)) s: $url, $(grep "^devices:" "$tmp/server.out")"
else
	notok "LAVA did not stand up: $(tail -1 "$tmp/server.log")"
	exit 1
fi
engine=(--engine lava --server "$url" --token-file "$token")

# -- bad input ------------------------------------------------------------
one_line_error "unreachable" --engine lava --server "http://127.0.0.1:9/" --token-file "$token"
printf 'pinlab:%s\n' "not-the-token" >"$tmp/bad-token"
one_line_error "does not accept the token" --engine lava --server "$url" --token-file "$tmp/bad-token"
one_line_error "has no device type 'nosuch'" "${engine[@]}" --device-type nosuch
# a job name over LAVA's 200 characters: the server's own schema refuses it
one_line_error "rejects this run's jobs" "${engine[@]}" --id "$(printf 'x%.0s' $(seq 1 230))"

# -- a run stopped mid-boot: its job cancelled, its QEMU gone ----------------
PINLAB_RESULTS="$tmp/res" "${lab[@]}" run --variants baseline --matrix control --deterministic --boots 1 \
	--no-report --id stopped "${engine[@]}" >"$tmp/stopped.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 300); do
	grep -q "0 queued, 1 running" "$tmp/stopped.log" && break
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 1
done
sleep 10
kill -INT "$run_pid" 2>/dev/null || true
rc=0
wait "$run_pid" || rc=$?
if [ "$rc" -eq 130 ] && st="$(PYTHONPATH="$top/scripts" /usr/bin/python3 - "$url" "$token" <<'PY'
import sys, time
from types import SimpleNamespace
from pinlab.engines import lava
e = lava.Engine(SimpleNamespace())
e.url, (e.user, e.token) = sys.argv[1], lava.read_token(sys.argv[2])
for _ in range(60):   # LAVA finishes a cancelled job once its worker has stopped it
    j = next(x for x in e.call("scheduler.jobs.list") if x["description"] == "pinlab stopped baseline.det")
    if j["state"] == "Finished":
        break
    time.sleep(1)
job = j["id"]
devs = [d["state"] for d in e.call("scheduler.devices.list")]
assert j["health"] == "Canceled" and all(s == "Idle" for s in devs), (j, devs)
print(f"job {job} {j['health']}, devices {', '.join(devs)}")
PY
)" && ! pgrep -f "qemu-system-x86_64 .*lava/dispatcher" >/dev/null && ! ls -d /tmp/pinlab-vm.stopped.* >/dev/null 2>&1; then
	ok "SIGINT mid-boot: exit 130, $st, no QEMU, no temporary files"
else
	notok "SIGINT mid-boot (exit $rc): ${st:-}"
	tail -3 "$tmp/stopped.log" | sed 's/^/# /'
fi

# -- the bare-metal template, validated by the server ---------------------
if out="$("${lab[@]}" lava-job --bare-metal --check --server "$url" --token-file "$token" 2>&1)"; then
	ok "bare-metal job template: $out"
else
	notok "bare-metal job template"
	echo "$out" | sed 's/^/# /' | head -5
fi

# -- the same boots, local and on LAVA --------------------------------------
t0=$(date +%s)
rc=0
PINLAB_RESULTS="$tmp/res" "${lab[@]}" run --variants baseline --matrix smoke --deterministic --boots 2 \
	--no-report --id local >"$tmp/local.log" 2>&1 || rc=$?
tl=$(($(date +%s) - t0))
if [ "$rc" -eq 0 ]; then ok "local engine: 2 deterministic smoke boots in $tl s"; else
	# the first failure named on the TAP line itself (CI's summary keeps it)
	notok "local engine run (exit $rc): $(why "$tmp/local.log")"
	tail -5 "$tmp/local.log" | sed 's/^/# /'
fi

# the LAVA run; once both boots run, the worker dies with everything under
# it (a lost worker host) and comes back when the run has resubmitted
t0=$(date +%s)
PINLAB_RESULTS="$tmp/res" "${lab[@]}" run --variants baseline --matrix smoke --deterministic --boots 2 \
	--no-report --id lava "${engine[@]}" >"$tmp/lava.log" 2>&1 &
run_pid=$!
killed="" back=""
while kill -0 "$run_pid" 2>/dev/null; do
	if [ -z "$killed" ] && grep -q "0 queued, 2 running" "$tmp/lava.log"; then
		sleep 20
		kill -USR1 "$server_pid"
		killed=$(date +%s)
	fi
	if [ -n "$killed" ] && [ -z "$back" ] && [ "$(grep -c "submitted again" "$tmp/lava.log")" -ge 2 ]; then
		kill -USR2 "$server_pid"
		back=$(date +%s)
	fi
	sleep 1
done
rc=0
wait "$run_pid" || rc=$?
tv=$(($(date +%s) - t0))
if [ "$rc" -eq 0 ]; then ok "lava engine: 2 deterministic smoke boots in $tv s (worker killed and back)"; else
	notok "lava engine run (exit $rc): $(why "$tmp/lava.log")"
	grep "FAILED\|error" "$tmp/lava.log" | head -5 | sed 's/^/# /'
fi
if [ -n "$killed" ] && [ -n "$back" ] && res="$(PYTHONPATH="$top/scripts" /usr/bin/python3 - "$tmp/res/lava" <<'PY'
import sys
from pinlab import store
run = store.open_run(sys.argv[1])
boots = run.index["boots"]
resub = [b for b in boots if b.get("engine", {}).get("resubmitted")]
assert len(boots) == 2 and all(b["engine"]["name"] == "lava" for b in boots), boots
assert len(resub) == 2, [b.get("engine") for b in boots]
assert all(b["verdict"] == "ok" for b in boots), [b["reasons"] for b in boots]
assert all("running_s" in b["engine"] for b in boots), [b["engine"] for b in boots]
print("; ".join(f"{b['id']}: job {b['engine']['resubmitted'][0]['job']} lost ({b['engine']['resubmitted'][0]['reason']}), "
                f"job {b['engine']['job']} on {b['engine']['device']} ok" for b in boots))
PY
)"; then ok "lost worker: every boot cancelled, submitted once more, recorded: $res"; else
	# the assertion's own words (its last line) on the TAP line
	res="$(PYTHONPATH="$top/scripts" /usr/bin/python3 - "$tmp/res/lava" 2>&1 <<'PY' | tail -1 | cut -c1-400 || true
import sys
from pinlab import store
run = store.open_run(sys.argv[1])
print("; ".join(f"{b['id']}: {b['verdict']} {b.get('reasons')} engine {b.get('engine')}" for b in run.index["boots"])
      or "no boots in run.json")
PY
)"
	notok "lost worker: killed ${killed:-never}, back ${back:-never}: ${res:-}"
	grep "offline\|again" "$tmp/lava.log" | head -5 | sed 's/^/# /'
fi
if out="$("${lab[@]}" repeatability "$tmp/res/lava" --against "$tmp/res/local" 2>&1)" &&
	tail -1 <<<"$out" | grep -q "^identical: yes"; then
	ok "lava vs local: $(tail -1 <<<"$out")"
else
	notok "lava vs local figures: $(tail -1 <<<"$out")"
	echo "$out" | tail -4 | sed 's/^/# /'
fi
# the run directory is a local run's, but for each boot's engine record
if diff <(cd "$tmp/res/local" && find . -type f | sed 's/\.xz$//' | sort) \
	<(cd "$tmp/res/lava" && find . -type f | sed 's/\.xz$//' | sort) >"$tmp/files.diff"; then
	ok "lava run directory: the same files as the local run's"
else
	notok "lava run directory differs from the local run's: $(grep "^[<>]" "$tmp/files.diff" | head -4 | paste -sd ' ' -)"
	head -5 "$tmp/files.diff" | sed 's/^/# /'
fi

# -- stopped: nothing left ---------------------------------------------------
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
sleep 1
left="$(procs)"
if [ -z "$left" ] && ! pgrep -f "qemu-system-x86_64.*/var/lib/lava/dispatcher" >/dev/null &&
	[ ! -e "$tmp/lava" ]; then
	ok "stopped: no LAVA, PostgreSQL or QEMU process left, state removed"
else
	notok "left running: $(echo "$left" | head -3)"
fi

# the plan was given first (a LAVA that does not stand up ends it early);
# the summary and the exit status: a failed case fails the script too
echo "fleet: $((n - failed - skipped)) passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$n" -eq 13 ]
