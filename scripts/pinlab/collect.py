"""Collect one boot: take everything the guest job wrote into the run
(RUN/BOOT-ID/), turn fio's and perf's raw output into what the analysis
reads, decide the boot's verdict from every file that can say it failed,
and return the boot's record and its result sets for the run index."""
import os
import re
import shutil
import subprocess

from . import PinlabError, calibration, gb, store
from . import fio as fio_mod
from . import perf as perf_mod

COMPRESS_OVER = 1024 * 1024  # bytes: larger JSON, logs, text and perf scripts go in as .xz


def postprocess(bdir, variant, title, profiled=False):
    """fio's runner directory -> fio.json; perf script -> folded stacks, flame
    graph, pin-path table (profiled: the job ran perf-script, so a profile
    must come out of it).  Returns the reasons it failed (empty: fine)."""
    why = []
    fio_dir = os.path.join(bdir, "fio")
    if os.path.exists(os.path.join(fio_dir, "runs.tsv")):
        for f in ("runs.tsv", "env.txt"):
            if os.path.exists(os.path.join(fio_dir, f)):
                shutil.copy(os.path.join(fio_dir, f), os.path.join(bdir, f"fio-{f}"))
        if os.path.isdir(os.path.join(fio_dir, "raw")):
            subprocess.run(["tar", "-C", fio_dir, "-cJf", os.path.join(bdir, "fio-raw.tar.xz"), "raw"], check=True)
        try:
            rc = fio_mod.main([fio_dir, os.path.join(bdir, "fio.json"), "--label", variant,
                               "--summary", os.path.join(bdir, "fio-summary.md")])
        except SystemExit as e:
            rc = e.code
        if rc:
            why.append(f"fio: conversion failed ({rc}; see fio-runs.tsv)")
        shutil.rmtree(fio_dir)
    script = os.path.join(bdir, "perf.script")
    if os.path.exists(script) and os.path.getsize(script) > 0:
        folded = os.path.join(bdir, "perf.folded")
        try:
            # its own files, never a redirected sys.stdout: boots are
            # collected in parallel threads, and one boot's folded stacks
            # (or a progress line) went into another's file
            with open(folded, "w") as f:
                perf_mod.fold(script, out=f)
            perf_mod.flame(folded, os.path.join(bdir, "flame.svg"), title)
            with open(os.path.join(bdir, "perf-pinpath.md"), "w") as f:
                perf_mod.pinpath(folded, out=f)
        except (SystemExit, OSError) as e:
            why.append(f"perf: no profile ({getattr(e, 'code', None) or e}; perf.script: {perf_mod.describe(script)}; "
                       f"perf record said: {last_line(os.path.join(bdir, 'perf-pinbench.txt'))})")
    elif profiled:
        why.append(f"perf: perf script wrote nothing (perf record said: "
                   f"{last_line(os.path.join(bdir, 'perf-pinbench.txt'))})")
    # the report links perf report's text: an empty one is a lost output
    # (in the guest, ">/dev/stdout" once made a file of that name in /dev)
    if profiled and not (read(os.path.join(bdir, "perf-report.txt")) or "").strip():
        why.append("perf: perf-report.txt is empty (perf report wrote nothing)")
    return why


def last_line(path):
    """A file's last non-empty line, cut to 160 characters, for a reason."""
    lines = [ln.strip() for ln in (read(path) or "").splitlines() if ln.strip()]
    return repr(lines[-1][:160]) if lines else "nothing"


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def tap_verdict(text, name, expect_fail=False, skips_ok=()):
    """A TAP file's summary line 'semantics: P passed, F failed, S skipped',
    and its skipped rows: a row that did not run fails the boot unless the
    variant declares it (skips_ok: (REGEX, reason) of SEMANTICS_SKIP lines)."""
    if text is None:
        return [f"{name}: missing"]
    m = re.search(r"^semantics: (\d+) passed, (\d+) failed, (\d+) skipped$", text, re.M)
    if not m:
        return [f"{name}: no summary line (pinsem did not finish)"]
    passed, failed = int(m[1]), int(m[2])
    if expect_fail:
        return []
    if failed:
        return [f"{name}: {failed} failed ({m[0][11:]})"]
    if passed == 0:
        return [f"{name}: nothing passed ({m[0][11:]}): every row skipped"]
    skipped = [ln for ln in text.splitlines() if re.match(r"^ok \d+ - .*#\s*SKIP", ln)]
    undeclared = [ln for ln in skipped if not any(re.search(rx, ln) for rx, _ in skips_ok)]
    if undeclared:
        first = re.sub(r"^ok \d+ - ", "", undeclared[0])
        return [f"{name}: {len(undeclared)} rows skipped that the variant does not declare (SEMANTICS_SKIP): "
                f"{first}" + (f" (and {len(undeclared) - 1} more)" if len(undeclared) > 1 else "")]
    return []


def peer_cases(text):
    """[(case, outcome, message)] of a kselftest TAP file (gup_longterm):
    case = its '# [RUN] ...' line's text, outcome 'ok', 'not ok' or 'skip'."""
    out, case = [], None
    for ln in (text or "").splitlines():
        m = re.match(r"^# \[RUN\] (.*)$", ln)
        if m:
            case = m[1].strip()
            continue
        m = re.match(r"^(not ok|ok) \d+ ?(.*)$", ln)
        if m:
            skip = re.search(r"#\s*SKIP\s*(.*)", m[2])
            out.append((case or m[2], "skip" if skip else m[1], (skip[1] if skip else m[2]).strip()))
            case = None
    return out


def peer_verdict(text, name, fails_ok=()):
    """The peer suite's TAP: each 'not ok' the variant does not declare
    (fails_ok: (REGEX, reason) of PEER_FAIL lines, matched against 'CASE:
    MESSAGE') fails the boot; a file with no plan line did not finish."""
    if text is None:
        return [f"{name}: missing"]
    if not re.search(r"^1\.\.\d+", text, re.M):
        return [f"{name}: no TAP plan line (the selftest did not start)"]
    bad = [f"{c}: {msg}" for c, o, msg in peer_cases(text) if o == "not ok"
           and not any(re.search(rx, f"{c}: {msg}") for rx, _ in fails_ok)]
    if bad:
        return [f"{name}: {len(bad)} failed that the variant does not declare (PEER_FAIL): {bad[0]}"
                + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")]
    return []


def tree_path(line):
    """A splat line with its source path as the kernel tree names it: an
    out-of-tree build whose compiler saw the sources by a relative path
    (ccache's base_dir rewrites them: `at ../src/mm/gup.c:123`) prints that
    path, and a variant's WARNING regex names `mm/gup.c`."""
    return re.sub(r"\bat (?:\.\./)+[^/\s]+/", "at ", line)


def kernel_splats(text, expected):
    """Kernel BUG/oops/panic/WARNING lines not declared as expected."""
    out = []
    for line in (text or "").splitlines():
        if re.search(r"Kernel panic|BUG:|Oops|WARNING: CPU", line):
            if "WARNING: CPU" in line and any(re.search(rx, tree_path(line)) for rx, _ in expected):
                continue
            out.append(re.sub(r"^\[\s*[\d.]+\]\s*", "", line).strip())
    return out


def verdict(bdir, qemu, commands, sets, warnings, cross, outputs=(), skips_ok=(), peer_fails=(), observe=False):
    """Every reason this boot failed (empty: it passed).  qemu: {"timed_out",
    "rc", "limit"}; commands: the names the job ran; sets: {file: (kind, placement)};
    observe: a review's prefix, whose semantics tables and peer suite are
    observations (they must finish; a row may fail: what the patch changed)."""
    if qemu.get("timed_out"):
        return [f"hung: killed after {qemu['limit']} s"]
    why = list(qemu.get("failures", ()))   # the boot engine's own (a LAVA job's health and reason)
    console = read(os.path.join(bdir, "console.log")) or ""
    if "pinlab-guest: done" not in console:
        why.append("the guest did not finish (see console.log)")
    splats = kernel_splats(console + "\n" + (read(os.path.join(bdir, "dmesg.txt")) or ""), warnings)
    why += [f"kernel: {s}" for s in dict.fromkeys(splats)]
    if read(os.path.join(bdir, "job.rc")) is not None and read(os.path.join(bdir, "job.rc")).strip() != "0":
        why.append(f"the guest job failed (exit {read(os.path.join(bdir, 'job.rc')).strip()}; see job.log)")
    for name in commands:
        rc = read(os.path.join(bdir, "rc", name))
        if rc is None:
            why.append(f"{name}: did not run (no exit status)")
        elif rc.strip() != "0" and not (name == "semantics-cross" and cross) and \
                not (observe and (name.startswith("semantics") or name.startswith("peer-"))):
            why.append(f"{name}: exit {rc.strip()}")
    for name in [c for c in commands if c.startswith("semantics")]:
        why += tap_verdict(read(os.path.join(bdir, f"{name}.tap")), f"{name}.tap",
                           name == "semantics-cross" or observe, skips_ok)
    for name in [c for c in commands if c.startswith("peer-") and not observe]:
        why += peer_verdict(read(os.path.join(bdir, f"{name}.tap")), f"{name}.tap", peer_fails)
    why += [f"{f}: missing (an output the matrix declares)" for f in outputs
            if not os.path.exists(store.resolve(os.path.join(bdir, f)))]
    for f in sets:
        path = store.resolve(os.path.join(bdir, f))
        if not os.path.exists(path):
            why.append(f"{f}: missing")
            continue
        try:
            ok, lines = gb.check(path)
        except PinlabError as e:
            ok, lines = False, [str(e)]
        if not ok:
            why.append(f"{f}: {lines[-1]}" + (f" ({lines[0]})" if len(lines) > 1 else ""))
    return why


def compress(bdir):
    for root, _, files in os.walk(bdir):
        for f in files:
            p = os.path.join(root, f)
            if re.search(r"\.(json|log|script|txt)$", f) and os.path.getsize(p) > COMPRESS_OVER:
                subprocess.run(["xz", "-9", "-T1", p], check=True)


ARCHIVE = "pinlab-archive: "


def split_console(text):
    """The guest's console without its framed result archive (scripts/guest/
    init prints it after the last measurement), and that archive:
    (console, bytes or None, problem or None).  A frame that is cut short,
    or whose size or sha256 does not match its head, is a problem, never a
    partial archive."""
    import base64
    import hashlib
    keep, data, head, state = [], [], None, "before"
    for line in text.splitlines(keepends=True):
        if not line.startswith(ARCHIVE):
            keep.append(line)
            continue
        body = line[len(ARCHIVE):].strip()
        if body.startswith("begin "):
            head, data, state = body.split()[1:3], [], "in"
        elif body == "end" and state == "in":
            state = "end"
        elif state == "in":
            data.append(body)
    clean = "".join(keep)
    if state == "before":
        return clean, None, "no result archive on the console"
    if state != "end":
        return clean, None, f"the result archive on the console is cut short ({len(data)} lines, no end)"
    try:
        raw = base64.b64decode("".join(data), validate=True)
    except ValueError as e:
        return clean, None, f"the result archive on the console does not decode ({e})"
    if len(raw) != int(head[0]) or hashlib.sha256(raw).hexdigest() != head[1]:
        return clean, None, (f"the result archive on the console does not match its head ({len(raw)} of "
                             f"{head[0]} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:12]} against {head[1][:12]})")
    return clean, raw, None


def unpack_archive(raw, out_dir):
    """A verified console archive (a gzip'd tar of the guest's /tmp/out) into out_dir."""
    import io
    import tarfile
    os.makedirs(out_dir, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as t:
        for m in t.getmembers():
            if m.name.startswith("/") or ".." in m.name.split("/") or not (m.isfile() or m.isdir()):
                raise ValueError(f"unexpected member {m.name}")
        t.extractall(out_dir)


def collect(run_dir, boot, out_dir, console, qemu_cmdline, qemu, job):
    """Move a boot's outputs into RUN/BOOT-ID/ and judge it.  boot: the
    record so far (id, base, variant, mode, boot, seconds); job: the plan's
    {"commands", "sets", "warnings", "cross", "matrix", "title"}.
    Returns (boot record, [set records])."""
    bdir = os.path.join(run_dir, boot["id"])
    os.makedirs(bdir, exist_ok=True)
    if out_dir and os.path.isdir(out_dir):
        for name in os.listdir(out_dir):
            shutil.move(os.path.join(out_dir, name), os.path.join(bdir, name))
    if console and os.path.exists(console):
        with open(console, errors="surrogateescape", newline="") as f:
            text = split_console(f.read())[0]
        with open(os.path.join(bdir, "console.log"), "w", errors="surrogateescape", newline="") as f:
            f.write(text)
        os.remove(console)
    with open(os.path.join(bdir, "qemu-cmdline"), "w") as f:
        f.write(qemu_cmdline + "\n")
    why = postprocess(bdir, boot["variant"], job["title"], "perf-script" in job["commands"])
    why = verdict(bdir, qemu, job["commands"], job["sets"], job["warnings"], job["cross"],
                  job.get("outputs", ()), job.get("semantics_skips", ()), job.get("peer_fails", ()),
                  job.get("observe", False)) + why
    why += calibration.write(bdir, boot["mode"])
    compress(bdir)
    files = {}
    for root, _, names in os.walk(bdir):
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), bdir)
            files[re.sub(r"\.xz$", "", rel)] = os.path.join(boot["id"], rel)
    rec = dict(boot, verdict="failed" if why else "ok", reasons=why, files=dict(sorted(files.items())))
    sets = []
    for f, (kind, placement) in job["sets"].items():
        if f in files:
            sets.append(store.new_set(kind, boot["base"], boot["variant"], boot["mode"], files[f], boot=boot["boot"],
                                      placement=placement, matrix=job["matrix"], boot_id=boot["id"],
                                      set_id=store.set_id(boot["variant"], boot["mode"], boot["boot"], kind,
                                                          placement)))
    return rec, sets
