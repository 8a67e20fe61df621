#!/usr/bin/python3
"""`make check`: every test step, its output shown as it runs, each skip
with its reason, and one closing line that counts tests, not steps:

    check: N passed, N failed, N skipped
  Steps speak TAP (the shell tests, cmocka
with CMOCKA_MESSAGE_OUTPUT=TAP), pytest's summary, or an exit status (lint).
A step that runs no test, or exits non-zero with no failing test, is a
failure; with CI=true a skipped step (`1..0 # SKIP`) is one too, since CI
installs what the tests need (scripts/deps.sh) and a skip there hides it.

    checks.py [CMOCKA_TEST_BINARY ...]
"""
import glob
import os
import re
import signal
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"


def tap_counts(out):
    """(passed, failed, [skip reasons]) of a TAP stream; a skip's reason is
    its directive, or for cmocka the message line before it."""
    passed = failed = 0
    skips, prev = [], ""
    for line in out.splitlines():
        m = re.match(r"^(not )?ok\b\s*\d*\s*(?:-\s*)?(.*)$", line)
        if m:
            desc = m[2]
            if re.search(r"#\s*SKIP", desc, re.I):
                why = re.split(r"#\s*SKIP\s*", desc, flags=re.I)[1] or desc
                skips.append(f"{why}: {prev}" if prev.startswith("SKIP ") else why)
            elif m[1]:
                failed += 1
            else:
                passed += 1
        elif line.strip():
            prev = line.strip()
    return passed, failed, skips


def pytest_counts(out):
    last = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", ln)]
    c = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", last[-1])} if last else {}
    # -rs groups identical skips: "SKIPPED [3] file:line: reason" is three
    skips = [why for n, why in re.findall(r"^SKIPPED \[(\d+)\] (.*)$", out, re.M) for _ in range(int(n))]
    return c.get("passed", 0), c.get("failed", 0) + c.get("error", 0) + c.get("errors", 0), skips


class Checks:
    def __init__(self):
        self.passed = self.failed = 0
        self.skips, self.failures = [], []
        self.ci = os.environ.get("CI") == "true"

    def step(self, name, cmd, kind="tap", env=None):
        print(f"=== {name}", flush=True)
        e = dict(os.environ, **(env or {}))
        # its own process group: a stop signals every process of the step
        p = subprocess.Popen(cmd, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e,
                             errors="replace", start_new_session=True)
        Checks.current = p
        out = []
        for line in p.stdout:
            sys.stdout.write(line)
            out.append(line)
        rc = p.wait()
        out = "".join(out)
        if kind == "tap":
            ok, bad, skips = tap_counts(out)
        elif kind == "pytest":
            ok, bad, skips = pytest_counts(out)
        else:
            ok, bad, skips = (1, 0, []) if rc == 0 else (0, 1, [])
        whole_skip = re.search(r"^1\.\.0\s*#\s*SKIP\s*(.*)$", out, re.M)
        if whole_skip:
            skips.append(whole_skip[1])
            if self.ci:
                bad += 1
                self.failures.append(f"{name}: skipped under CI=true ({whole_skip[1]})")
        elif ok + bad + len(skips) == 0:
            bad += 1
            self.failures.append(f"{name}: ran no test (exit {rc})")
        elif rc != 0 and bad == 0:
            bad += 1
            self.failures.append(f"{name}: exit {rc} with no failing test reported")
        elif bad:
            self.failures.append(f"{name}: {bad} failed")
        self.passed += ok
        self.failed += bad
        self.skips += [f"{name}: {s}" for s in skips]
        print(f"=== {name}: {ok} passed, {bad} failed, {len(skips)} skipped", flush=True)

    def summary(self):
        """The skips with their reasons and the failures, then the closing line."""
        print()
        for s in self.skips:
            print(f"skipped: {s}")
        for f in self.failures:
            print(f"FAILED {f}")
        print(f"check: {self.passed} passed, {self.failed} failed, {len(self.skips)} skipped")
        return 1 if self.failed else 0


def stop(sig, frame):
    """SIGTERM/SIGINT: the running test's process group gets SIGTERM (the
    lab run it started stops its VMs; the script's EXIT trap removes its
    files once that run has ended), then this exits 128 + the signal.  A
    SIGTERM to the script alone left its lab run and VM going: bash runs a
    trap only when its foreground command ends."""
    p = getattr(Checks, "current", None)
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(128 + sig)


def main(tests):
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    c = Checks()
    tap = {"CMOCKA_MESSAGE_OUTPUT": "TAP"}
    for t in tests:
        c.step(f"unit {os.path.basename(t)}", [t], env=tap)
    r = subprocess.run(["make", "-s", "asan"], cwd=TOP, capture_output=True, text=True)
    if r.returncode:
        # what an earlier build left in build-asan/ is not this tree's: not run
        print(r.stdout + r.stderr)
        c.failed += 1
        c.failures.append("make asan failed (build-asan/tests not run: they would be an earlier build's)")
    else:
        for t in sorted(glob.glob(os.path.join(TOP, "build-asan", "tests", "test_*"))):
            c.step(f"unit {os.path.basename(t)} (ASan/LSan)", [t], env=dict(tap, ASAN_OPTIONS="detect_leaks=1"))
    c.step("unit: results model and lab plan (pytest)",
           [PY, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "scripts/tests"], kind="pytest")
    for name, script in (("integration (pinbench on this kernel)", "bench/tests/integration.sh"),
                         ("compare (statistics on synthetic shifts, bad input)", "scripts/tests/compare.sh"),
                         ("report and dashboard (sentences, plots, Chromium render)", "scripts/tests/report.sh"),
                         ("workloads (fio jobs, perf stat/record on this kernel)", "scripts/tests/workloads.sh"),
                         ("faults (SIGINT/SIGTERM/SIGKILL: nothing left behind)", "scripts/tests/faults.sh"),
                         ("bases (a real apt on a local repository: pinned, fallback, refusals)",
                          "scripts/tests/bases.sh"),
                         ("lab (kernel build, boot, semantics)", "scripts/tests/lab.sh"),
                         ("review and bisect (a series patch by patch, git bisect run)", "scripts/tests/review.sh"),
                         ("fleet (a private LAVA: the same boots as the local engine, a lost worker)",
                          "scripts/tests/lava.sh")):
        c.step(name, ["bash", script])
    sources = sorted(glob.glob(os.path.join(TOP, "bench", "*.c")) + glob.glob(os.path.join(TOP, "bench", "*", "*.[ch]"))
                     + glob.glob(os.path.join(TOP, "bench", "gbench", "*.cc")))
    c.step("lint: clang-format", ["clang-format", "--dry-run", "--Werror", *sources], kind="exit")
    shells = subprocess.run(["git", "ls-files", "*.sh", "scripts/lab", "scripts/guest", ".ci/run"], cwd=TOP,
                            capture_output=True, text=True).stdout.split()
    c.step("lint: shellcheck", ["shellcheck", "-x", *sorted(set(shells))], kind="exit")
    pys = subprocess.run(["git", "ls-files", "*.py"], cwd=TOP, capture_output=True, text=True).stdout.split()
    c.step("lint: python compiles", [PY, "-m", "py_compile", *pys], kind="exit")
    return c.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
