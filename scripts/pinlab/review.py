"""scripts/lab review: what each patch of a series does to each pin path.

A front door over the lab's stages, not a second copy of them: the series
(git format-patch files, or one mbox as a mail archive gives it) becomes
one lab variant per cumulative prefix (p01 = patch 1, p02 = patches 1-2,
...) on the base, written under the run's review/kernel-patches/ (symlinks
to the base's own files, the series copied in), and one lab run measures
the base's baseline and every prefix; each prefix after the first builds
incrementally (an mm/ patch in seconds).  The report then judges every
patch against the prefix before it by the lab's rule (disjoint boots,
beyond the noise threshold: committed A/A floors of the base), and the
series as a whole against the base.

A patch that does not apply (to the base with the patches before it that
did) is reported as such and left out of the later prefixes; a prefix that
does not build or panics is reported, and the later ones still run.
The semantics tables run on every prefix as observations: a row whose
outcome changes from one prefix to the next is a change the patch made (a
new refusal, a new acceptance), not a failed boot."""
import argparse
import email
import email.policy
import hashlib
import json
import mailbox
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from . import TOP, PinlabError, compare, store, variants

PREFIX = re.compile(r"^p(\d\d)$")


def subject_of(msg):
    """The patch's subject without its [PATCH n/m] tag."""
    s = " ".join(str(msg.get("Subject", "")).split())
    return re.sub(r"^(\[[^\]]*\]\s*)+", "", s).strip()


def is_patch(text):
    return re.search(r"^--- \S", text, re.M) is not None and re.search(r"^\+\+\+ \S", text, re.M) is not None


def split_series(paths):
    """[{subject, text, source}] from patch files and mboxes, in order.  A
    file with several 'From ' separators is an mbox; a message without a
    diff (a cover letter) is left out; a series with no patch at all is an
    error."""
    out = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as e:
            raise PinlabError(f"review: {path}: {e.strerror}") from None
        froms = len(re.findall(r"^From \S+ ", text, re.M))
        if froms > 1:
            msgs = [(m, m.get_payload(decode=False)) for m in mailbox.mbox(path, create=False)]
            items = []
            for m, body in msgs:
                body = body if isinstance(body, str) else ""
                items.append((subject_of(m), body, m.as_string()))
        else:
            m = email.message_from_string(text, policy=email.policy.compat32)
            items = [(subject_of(m) or os.path.basename(path), text, text)]
        found = [(s, full) for s, body, full in items if is_patch(body)]
        if not found:
            raise PinlabError(f"review: {path}: no patch in it (no '--- a/...' / '+++ b/...' lines)")
        out += [dict(subject=s or os.path.basename(path), text=full, source=path) for s, full in found]
    return out


def touched(text):
    return [re.sub(r"^[^/]*/", "", m) for m in re.findall(r"^\+\+\+ (\S+)", text, re.M) if m != "/dev/null"] + \
        [re.sub(r"^[^/]*/", "", m) for m in re.findall(r"^--- (\S+)", text, re.M) if m != "/dev/null"]


def pristine(base):
    """The base's unpacked, read-only source tree (fetched by the lab)."""
    cmd = f'. "{TOP}/scripts/lib.sh"; use_base "$1"; fetch_base; unpack_base'
    p = subprocess.run(["bash", "-c", cmd, "review", base], capture_output=True, text=True)
    if p.returncode or not p.stdout.strip():
        raise PinlabError(f"review: base {base}: its source could not be fetched ({p.stderr.strip()[-200:]})")
    return p.stdout.strip().splitlines()[-1]


def check_applies(src, first, series):
    """Which patches of the series apply, in order, to src with the
    instrumentation (first) and the earlier patches that applied: checked
    on a scratch copy of the files they touch.  Returns [None | why]."""
    files = sorted({f for t in first + [p["text"] for p in series] for f in touched(t)})
    with tempfile.TemporaryDirectory(prefix="pinlab-review-") as tmp:
        for f in files:
            if os.path.isfile(os.path.join(src, f)):
                os.makedirs(os.path.dirname(os.path.join(tmp, f)), exist_ok=True)
                shutil.copy(os.path.join(src, f), os.path.join(tmp, f))
                os.chmod(os.path.join(tmp, f), 0o644)

        def apply(text, dry):
            return subprocess.run(["patch", "-s", "-p1", "-N", "-r", "-", "--no-backup-if-mismatch", "-d", tmp]
                                  + (["--dry-run"] if dry else []), input=text, capture_output=True, text=True)
        for t in first:
            r = apply(t, False)
            if r.returncode:
                raise PinlabError("review: the lab's instrumentation does not apply to this tree")
        out = []
        for p in series:
            r = apply(p["text"], True)
            if r.returncode:
                why = (r.stdout + r.stderr).strip().splitlines()
                out.append("does not apply" + (f" ({why[0][:120]})" if why else ""))
                continue
            apply(p["text"], False)
            out.append(None)
        return out


def slug(subject):
    s = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-")
    return s[:52].rstrip("-") or "patch"


def write_overlay(root, base, series, status):
    """review/kernel-patches/: every base as symlinks to kernel-patches/,
    the reviewed base's files as symlinks, its series copied under
    series/, and one variant pNN per patch that applies (the prefix up to
    it).  Returns the labels of the prefixes, in order."""
    real = variants.ROOT
    os.makedirs(root)
    for b in os.listdir(real):
        if not os.path.isdir(os.path.join(real, b)):
            continue
        if b != base:
            os.symlink(os.path.relpath(os.path.join(real, b), root), os.path.join(root, b))
            continue
        d = os.path.join(root, b)
        os.makedirs(os.path.join(d, "series"))
        for x in os.listdir(os.path.join(real, b)):
            os.symlink(os.path.relpath(os.path.join(real, b, x), d), os.path.join(d, x))
    d = os.path.join(root, base)
    inst = variants.conf(f"instrumentation@{base}").get("SERIES", "").split()
    applied, labels = [], []
    n = len(series)
    for i, (p, why) in enumerate(zip(series, status), 1):
        fname = f"{i:04d}-{slug(p['subject'])}.patch"
        with open(os.path.join(d, "series", fname), "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(p["text"])
        p.update(n=i, file=f"series/{fname}", sha256=hashlib.sha256(p["text"].encode("utf-8", "surrogateescape"))
                 .hexdigest(), status=why or "applies")
        if why:
            continue
        applied.append(f"series/{fname}")
        name = f"p{i:02d}"
        os.makedirs(os.path.join(d, name))
        subj = p["subject"].replace('"', "'").replace("$", "").replace("`", "'")
        with open(os.path.join(d, name, "variant.conf"), "w") as f:
            f.write(f"# review prefix {i}/{n}: the base with the series' patches 1-{i} that apply\n"
                    f'DESCRIPTION="patch {i}/{n}: {subj}"\n'
                    f'REPRODUCES="the reviewed series up to patch {i} ({len(applied)} applied)"\n'
                    f'SERIES="{" ".join(inst + applied)}"\n'
                    'SEMANTICS="observe"\n')
        p["variant"] = variants.label(name, base)
        labels.append(p["variant"])
    return labels


def parse(argv):
    ap = argparse.ArgumentParser(prog="scripts/lab review", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series", nargs="+", metavar="SERIES",
                    help="patch files (git format-patch) in order, or one mbox")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--base", help="the base the series applies to: kernel-patches/BASE")
    g.add_argument("--tree", metavar="DIR", help="a kernel tree the series applies to (a source directory or a git "
                                                 "checkout, never written): built with the nearest base's "
                                                 "instrumentation and Debian config")
    ap.add_argument("--matrix", default="review", help="lab/matrices/NAME.toml (default review: focused)")
    ap.add_argument("--boots", type=int, default=1,
                    help="deterministic boots per prefix (default 1: the committed A/A floors of the base are "
                         "the noise threshold)")
    ap.add_argument("--wallclock", type=int, default=0, metavar="N",
                    help="also N wall-clock boots per prefix (KVM where it boots, else TCG), judged by the "
                         "wall-clock rule, which needs several boots a side; they never overlap a build or "
                         "another boot")
    ap.add_argument("--profile", action="store_true",
                    help="a profiling boot per prefix too (QEMU's TCG plugin): the report says, for each change, "
                         "the kernel functions it went to (scripts/lab explain)")
    ap.add_argument("--id")
    ap.add_argument("--parallel", type=int, default=0)
    ap.add_argument("--allow-dirty", action="store_true")
    a = ap.parse_args(argv)
    if not 0 <= a.wallclock <= 9:
        ap.error("--wallclock must be 0-9")
    return a


def main(argv=None):
    from . import labrun
    a = parse(argv)
    try:
        series = split_series(a.series)
        if a.tree:
            from . import tree
            a.base, rec, ident, _ = tree.prepare(a.tree, a.allow_dirty)
            print(f"lab: review: tree {ident}: base {a.base}", file=sys.stderr)
            src, first = tree.sources(rec, a.base)
        else:
            variants.patches(a.base)
            src, ident, first = pristine(a.base), None, []
        status = check_applies(src, first + variants.instrumentation(a.base), series)
        if all(status):
            raise PinlabError(f"review: no patch of the series applies to base {a.base}: "
                              + "; ".join(f"{i}: {w}" for i, w in enumerate(status, 1)))
    except PinlabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2
    for i, (p, why) in enumerate(zip(series, status), 1):
        print(f"lab: review: patch {i}/{len(series)}: {p['subject']}" + (f": {why}, left out" if why else ""),
              file=sys.stderr)
    rid = a.id or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-review"
    out = os.path.join(os.environ.get("PINLAB_RESULTS") or os.path.join(TOP, "results"), rid)
    if os.path.exists(out):
        print(f"lab: review: {out} exists; pick another --id", file=sys.stderr)
        return 2
    root = os.path.join(out, "review", "kernel-patches")
    try:
        labels = write_overlay(root, a.base, series, status)
        meta = dict(base=a.base, tree=ident, command="scripts/lab review " + " ".join(sys.argv[2:] if argv is None else argv),
                    patches=[{k: p.get(k) for k in ("n", "subject", "file", "sha256", "status", "variant", "source")}
                             for p in series])
        with open(os.path.join(out, "review", "review.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    use_overlay(root)
    run_argv = ["--variants", ",".join([f"baseline@{a.base}"] + labels), "--matrix", a.matrix,
                "--boots", str(a.boots), "--id", rid, "--review"]
    run_argv += ["--modes", "deterministic,wallclock", "--wallclock-boots", str(a.wallclock)] if a.wallclock \
        else ["--deterministic"]
    run_argv += ["--parallel", str(a.parallel)] if a.parallel else []
    run_argv += ["--profile"] if a.profile else []
    run_argv += ["--tree", a.tree] if a.tree else []
    run_argv += ["--allow-dirty"] if a.allow_dirty else []
    rc = labrun.main(run_argv)
    if rc == 2 and os.listdir(out) == ["review"]:
        shutil.rmtree(out)   # the plan refused: nothing was run, nothing is left
        return rc
    if any(status):
        print(f"lab: review: {sum(map(bool, status))} patch(es) did not apply (see the report)", file=sys.stderr)
        return rc or 1
    return rc


def use_overlay(root):
    """Variants are read from a review's kernel-patches/ from now on (this
    process and the build scripts it starts)."""
    variants.ROOT = root
    os.environ["PINLAB_PATCHES"] = root


def overlay_of(run_path):
    root = os.path.join(run_path, "review", "kernel-patches")
    return root if os.path.isdir(root) else None


# ---- the report's review part ---------------------------------------------

def load(run_path):
    path = os.path.join(run_path, "review", "review.json")
    return store.load_json(path) if os.path.exists(path) else None


def prefix_chain(meta, measured):
    """[(patch, previous measured label, its label or None)] in series order:
    each patch that applied and was measured, against the last measured
    prefix before it (the base's baseline at first)."""
    prev, out = f"baseline@{meta['base']}" if meta["base"] != variants.DEFAULT_BASE else "baseline", []
    for p in meta["patches"]:
        v = p.get("variant")
        if v and v in measured:
            out.append((p, prev, v))
            prev = v
        else:
            out.append((p, prev, None))
    return out


def flagged(res):
    return sorted((r for r in res["rows"] if r["significant"]), key=lambda r: -abs(r["change_pct"]))


def row_text(r, unit_short="insn/page"):
    return (f"{compare.short(r['name'])}: {r['median_a']:.1f} -> {r['median_b']:.1f} {unit_short} "
            f"({r['change_pct']:+.1f} %, noise {r['noise_pct']:.2f} %)")


def per_call(res_call, name):
    for r in res_call["rows"]:
        if r["name"] == name:
            return r
    return None


def semantic_changes(run, va, vb):
    """[(case, before, after)] of every semantics table where boot 1 of vb
    differs from boot 1 of va."""
    from .report import tap_outcomes
    out = []
    for table in ("semantics", "semantics-xfs"):
        pa = os.path.join(run.path, store.boot_id(va, "deterministic", 1), f"{table}.tap")
        pb = os.path.join(run.path, store.boot_id(vb, "deterministic", 1), f"{table}.tap")
        if not (os.path.exists(pa) and os.path.exists(pb)):
            continue
        a, b = tap_outcomes(pa), tap_outcomes(pb)
        for k in sorted(set(a) & set(b)):
            if a[k] != b[k]:
                out.append((f"{k[0]}" + (" (xfs)" if table.endswith("xfs") else ""), a[k], b[k]))
    return out


def sections(run, sets, psets, metric, unit, alpha, floor):
    """The review's markdown, its 80-column text and reproduce.sh."""
    meta = load(run.path)
    measured = set(sets)
    failed = {b["variant"]: "; ".join(b.get("reasons", [])) for b in run.index.get("boots", [])
              if b.get("verdict") == "failed"}
    built_failed = {}
    man = os.path.join(run.path, "manifest.txt")
    for line in (open(man).read().splitlines() if os.path.exists(man) else []):
        m = re.match(r"^variant (\S+): FAILED (.*)$", line)
        if m:
            built_failed[m[1]] = m[2]
    md = ["", "## Review: patch by patch", "",
          f"Series of {len(meta['patches'])} patch(es) on base {meta['base']}; each patch against the prefix "
          "before it (the base's baseline first), by the lab's rule: a change is flagged when the boots are "
          "disjoint and it exceeds the noise threshold (the larger of 0.5 %, the run's own boot spread and the "
          "base's committed A/A floors of that path x backing). Figures: instructions per page pinned "
          "(deterministic: QEMU -icount, a guest under TCG, not hardware time).", ""]
    on = f"tree {meta['tree']} (base {meta['base']})" if meta.get("tree") else f"base {meta['base']}"
    txt = textwrap.wrap(f"pinlab review: {len(meta['patches'])} patch(es) on {on}", 80) + [""]
    all_sets = {"default": sets, **psets}
    wsets = wallclock_sets(run)
    summary = dict(run=run.id, on=on, patches=[])
    for p, prev, v in prefix_chain(meta, measured):
        head = f"### Patch {p['n']}: {p['subject']}"
        md += [head, ""]
        entry = dict(n=p["n"], subject=p["subject"], status=p["status"], flagged=[], semantics=[])
        summary["patches"].append(entry)
        txt += textwrap.wrap(f"[{p['n']}/{len(meta['patches'])}] {p['subject']}", 80) 
        if p["status"] != "applies":
            md += [f"Not measured: {p['status']}; the later patches are measured without it.", ""]
            txt += [f"  not measured: {p['status']}", ""]
            continue
        if not v:
            why = built_failed.get(p["variant"]) or failed.get(p["variant"]) or "no result set"
            md += [f"Not measured: {why}.", ""]
            entry["status"] = f"not measured: {why}"
            txt += textwrap.wrap(f"not measured: {why}", 78, initial_indent="  ", subsequent_indent="  ") + [""]
            continue
        md.append(f"Against {prev}:" + (f" (its boot failed its verdict: {failed[v]})" if v in failed else ""))
        lines = []
        for sname, ss in all_sets.items():
            if prev not in ss or v not in ss:
                continue
            res = compare.result(ss[prev], ss[v], metric, alpha, floor, boot_rule=True)
            rc = compare.result(ss[prev], ss[v], metric.replace("per_page", "per_call"), alpha, floor,
                                boot_rule=True) if "per_page" in metric else None
            for r in flagged(res):
                entry["flagged"].append(dict(name=compare.short(r["name"]) + ("" if sname == "default" else
                                                                                f" [{sname}]"),
                                             a=round(r["median_a"], 2), b=round(r["median_b"], 2),
                                             change=round(r["change_pct"], 2)))
                c = per_call(rc, r["name"]) if rc else None
                extra = (f"; per call {c['median_a']:.1f} -> {c['median_b']:.1f}" if c else "")
                lines.append((abs(r["change_pct"]), f"{row_text(r)}{extra}" + (f" [set {sname}]" if sname !=
                                                                                  "default" else "")))
        lines.sort(key=lambda x: -x[0])
        md += [""] + ([f"- {t}" for _, t in lines] or ["- nothing beyond the noise threshold"])
        txt += [f"  {t}" for t in wrap_items([t for _, t in lines[:8]] or ["nothing beyond the noise threshold"])]
        if len(lines) > 8:
            txt.append(f"  ... {len(lines) - 8} more in review.md")
        if prev in wsets and v in wsets:
            w = wallclock_line(wsets[prev], wsets[v], alpha)
            entry["wallclock"] = w
            md.append(f"- wall-clock: {w}")
            txt += wrap_items([f"wall-clock: {w}"])
        # kernel warnings and oopses: the ones this prefix's boot printed
        # that the prefix before it did not (a patch's new splat)
        def splats(x):
            return {re.sub(r"CPU: \d+ PID: \d+ ", "", r) for b in run.index.get("boots", [])
                    if b["variant"] == x for r in b.get("reasons", []) if r.startswith("kernel: ")}
        new_splats = sorted(splats(v) - splats(prev))
        md += [f"- {w}" for w in new_splats]
        txt += [f"  {t}" for t in wrap_items(new_splats)]
        entry["kernel"] = new_splats
        sem = semantic_changes(run, prev, v)
        entry["semantics"] = [f"{c}: {a} -> {b}" for c, a, b in sem]
        entry["flagged"].sort(key=lambda f: -abs(f["change"]))
        md += [""] + ([f"- semantics: {c}: {a} -> {b}" for c, a, b in sem] or ["- semantics: unchanged"]) + [""]
        txt += [f"  semantics: {c}: {a} -> {b}" for c, a, b in sem] or ["  semantics: unchanged"]
        txt.append("")
    # the series as a whole
    last = [v for _, _, v in prefix_chain(meta, measured) if v]
    base = prefix_chain(meta, measured)[0][1]
    if last and base in sets:
        res = compare.result(sets[base], sets[last[-1]], metric, alpha, floor, boot_rule=True)
        fl = flagged(res)
        md += ["### The series as a whole", "", f"{last[-1]} against {base}: {len(fl)} of {len(res['rows'])} "
               "benchmarks flagged" + (":" if fl else "."), ""] + [f"- {row_text(r)}" for r in fl[:15]] + [""]
        txt += [f"Whole series vs {base}: {len(fl)} of {len(res['rows'])} flagged"] + \
            [f"  {t}" for t in wrap_items([row_text(r) for r in fl[:8]])] + [""]
    tmd, ttxt = time_part(run)
    md += tmd
    txt += ttxt
    pmd, ptxt = published_part(run, meta, all_sets, measured, metric, alpha, floor)
    md += pmd
    txt += ptxt
    with open(os.path.join(run.path, "review", "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    txt += textwrap.wrap(f"Measured by pinlab (QEMU TCG -icount: instructions, not time; run {run.id}; "
                         f"reproduce: review/reproduce.sh).", 80)
    return md, txt


def wallclock_sets(run):
    """{variant: set} of the run's wall-clock boots ({} when it has none)."""
    from .report import pick_sets
    if not any(s.get("mode") == "wallclock" for s in run.index.get("sets", [])):
        return {}
    return pick_sets(run, "wallclock")[1]


def wallclock_line(a, b, alpha):
    """A prefix's wall-clock verdict in one line: its flagged changes
    (ns per page), or why nothing can be judged."""
    res = compare.result(a, b, "ns_per_page", alpha)
    judged = [w for w in res["warnings"] if w.startswith("not enough boots")]
    if judged:
        return judged[0]
    fl = flagged(res)
    if not fl:
        return f"nothing flagged ({res['boots_a']} vs {res['boots_b']} boots, ns per page)"
    return "; ".join(f"{compare.short(r['name'])} {r['change_pct']:+.1f} %" for r in fl[:5]) + \
        (f"; {len(fl) - 5} more" if len(fl) > 5 else "") + f" ({res['boots_a']} vs {res['boots_b']} boots, ns per page)"


def time_part(run):
    """Where the review's time went: each kernel's build in this run, each
    boot and its stages (host seconds, seen from its console), and the
    run's total (manifest.txt, run.json)."""
    man = os.path.join(run.path, "manifest.txt")
    lines = open(man).read().splitlines() if os.path.exists(man) else []
    builds = {m[1]: int(m[2]) for m in (re.match(r"^kernel (\S+): .*\((\d+) s in this run\)$", x) for x in lines) if m}
    total = next((int(m[1]) for m in (re.match(r"^total: (\d+) s$", x) for x in lines) if m), None)
    boots = run.index.get("boots", [])
    if total is None:
        return [], []
    par = re.search(r"--parallel (\d+)", run.index.get("command", ""))
    stages = {}
    for b in boots:
        for k, v in b.get("steps", []):
            stages[k] = stages.get(k, 0) + v
    piped = all(b.get("mode") == "deterministic" for b in boots) and "steps" in (boots[0] if boots else {})
    text = (f"Time: {total} s in all, on {os.cpu_count()} CPUs. Builds {sum(builds.values())} s ("
            + ", ".join(f"{v} {t} s" for v, t in builds.items()) + "; a kernel already built is taken from the "
            "cache, and a build waits for the lab's build lock while another run builds"
            + ("; each prefix boots as soon as it is built, while the next one builds" if piped else "")
            + f"). Boots {sum(b.get('seconds', 0) for b in boots)} host seconds in all ("
            + ", ".join(f"{b['variant']} {b.get('seconds', 0)} s" for b in boots) + "; "
            + (f"{par[1]} at a time" if par else "up to one per CPU at a time") + ")")
    if stages:
        text += ("; by stage, summed over the boots: "
                 + ", ".join(f"{k} {round(v)} s" for k, v in sorted(stages.items(), key=lambda x: -x[1])
                             if round(v)))
    text += ". The rest: the initramfs, waiting for a free CPU, the report."
    return ["### Time", "", text, ""], wrap_items([text]) + [""]


def published_part(run, meta, all_sets, measured, metric, alpha, floor):
    """Each upstream figure of lab/published.toml whose commit a patch of
    the series names (review = COMMIT), beside the lab's own figure for
    that patch: both sides' unit, size, pages per call and machine, and
    whether the shape holds (both cheaper by about the same factor or
    both about unchanged)."""
    from .tables import published
    md, txt, verdicts = [], [], []
    for pub in published(review=True):
        hit = [(p, prev, v) for p, prev, v in prefix_chain(meta, measured) if v and pub["review"] in
               open(os.path.join(run.path, "review", "kernel-patches", meta["base"], p["file"]),
                    errors="replace").read()]
        if not hit:
            continue
        p, prev, v = hit[0]
        res = compare.result(all_sets["default"][prev], all_sets["default"][v], metric, alpha, floor,
                             boot_rule=True)
        row = next((r for r in res["rows"] if r["name"].startswith(f"{pub['path']}/{pub['backing']}/")
                    and f"/ppc:{pub['ppc']}/" in r["name"] and "/vmas:1/" in r["name"]), None)
        posted = pub["before_us"] / pub["after_us"]
        head = (f"{pub['what']}: {pub['source']} posted `{pub['command']}` going from {pub['before_us']:g} to "
                f"{pub['after_us']:g} ({posted:.2f}x; {pub['unit']}, {pub['size']}, {pub['published_ppc']} pages "
                f"per call, {pub['machine']}).")
        if not row:
            md += [f"- {head} pinlab has no {pub['path']} {pub['backing']} figure at {pub['ppc']} pages per call "
                   "in this run."]
            continue
        ours = row["median_a"] / row["median_b"]
        size = re.search(r"size_kb:(\d+)", row["name"])
        md.append(f"- {head} pinlab, patch {p['n']} against {prev}: {row['median_a']:.1f} -> "
                  f"{row['median_b']:.1f} ({ours:.2f}x; instructions per page pinned under QEMU TCG -icount, "
                  f"{int(size[1]) // 1024 if size else '?'} MiB, {pub['ppc']} pages per call, a lab guest; "
                  f"{'flagged' if row['significant'] else 'not flagged'}, noise {row['noise_pct']:.2f} %).")
        txt += wrap_items([f"Posted ({pub['backing']}): {pub['before_us']:g} -> {pub['after_us']:g} us "
                           f"({posted:.2f}x, {pub['command']}, real hardware); pinlab: {row['median_a']:.1f} -> "
                           f"{row['median_b']:.1f} insn/page ({ours:.2f}x, {int(size[1]) // 1024 if size else '?'} "
                           f"MiB, {pub['ppc']}/call, TCG guest)"])
        # the shape: cheaper by more than a tenth on both sides, or about
        # unchanged on both (posted within 5 %, ours not flagged)
        both_cheaper = posted > 1.1 and row["significant"] and ours > 1.1
        both_flat = abs(posted - 1) < 0.05 and not (row["significant"] and abs(ours - 1) > 0.05)
        verdicts.append((pub["backing"], both_cheaper or both_flat,
                         "cheaper on both sides" if both_cheaper else "about unchanged on both sides" if both_flat
                         else f"posted {posted:.2f}x, pinlab {ours:.2f}x"))
    if not md:
        return [], []
    holds = all(ok for _, ok, _ in verdicts)
    shape = (f"The shape {'holds' if holds else 'does not hold'}: " +
             "; ".join(f"{b}: {why}" for b, _, why in verdicts) +
             ". The two sides differ in unit, size and machine: compare directions and factors, not values.")
    return (["### Beside the posted figures", ""] + md + ["", shape, ""],
            txt + wrap_items([shape]) + [""])


def wrap_items(items):
    out = []
    for t in items:
        out += textwrap.wrap(t, 76, subsequent_indent="  ")
    return out


def reproduce(run, meta):
    """reproduce.sh: the review's command again from this pinlab checkout,
    after checking the patches' sha256; the base's package and config, the
    tree's identity and QEMU's version as comments."""
    base = variants.base(meta["base"])
    man = store.read_kv(os.path.join(run.path, "manifest.txt"))
    rel = os.path.join("results", run.id, "review", "kernel-patches", meta["base"])
    lines = ["#!/usr/bin/env bash",
             f"# Reproduce pinlab review {run.id}: run from anywhere; it works in the pinlab checkout that",
             f"# holds it (made at pinlab {man.get('pinlab', '?')}). Arguments: another run id (default: "
             f"{run.id}-again).",
             "set -euo pipefail",
             f"# base: {base.get('PACKAGE', '?')} {base.get('VERSION', '?')} (tarball sha256 {base.get('SHA256', '?')})",
             f"# Debian config: {base.get('CONFIG', '?')} sha256 {base.get('CONFIG_SHA256', '?')}",
             f"# qemu: {man.get('qemu', '?')}"]
    tree = meta.get("tree")
    if tree:
        lines += [f"# tree: {tree}", f"#   was at {run.index.get('tree', {}).get('path', '?')}; set TREE to a tree "
                  "with that identity (a different one is named differently in the new run)"]
    lines += ["top=\"$(cd \"$(dirname \"$0\")/../../..\" && pwd)\"", "cd \"$top\"",
              "# the series as reviewed, in order"]
    lines += ["sha256sum -c --quiet <<'EOF'"] + [f"{p['sha256']}  {rel}/{p['file']}" for p in meta["patches"]] + ["EOF"]
    on = f"--tree \"${{TREE:-{run.index.get('tree', {}).get('path', '?')}}}\"" if tree else f"--base {meta['base']}"
    lines += [f"scripts/lab review {on} --matrix {man.get('matrix', 'review')} --id \"${{1:-{run.id}-again}}\" \\"]
    lines += ["    " + " \\\n    ".join(f"{rel}/{p['file']}" for p in meta["patches"])]
    return "\n".join(lines) + "\n"
