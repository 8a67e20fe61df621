"""scripts/lab bisect: the first commit that moved a benchmark, found by
`git bisect run` with a deterministic measurement as its predicate.

The user's repository is never written: it is cloned (--shared, no
checkout) under the cache, and the bisection runs in the clone.  The
commits good..bad (first-parent, linear) become a series on the tree at
--good, as `scripts/lab review` takes one: a commit is measured as the
good tree plus the commits up to it (one lab variant per commit, built
incrementally: an mm/ commit rebuilds in seconds), booted once,
deterministically, with a one-benchmark matrix.  "Changed" is the lab's
rule: |change| against --good beyond the noise threshold (the larger of
--threshold, 0.5 % and the base's committed A/A floors of that path x
backing).  A commit that does not build or boot is skipped (exit 125 to
git bisect).  The log, every step's figure and the verdict go to
results/ID/ (bisect.log, bisect.json, steps/)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from . import TOP, PinlabError, compare, store, variants

CACHE = os.environ.get("PINLAB_CACHE", "/var/cache/pinlab")
BENCH = re.compile(r"^(?:gup_test\.)?([a-z_]+)/([a-z0-9_]+)(?:/size_kb:(\d+))?(?:/ppc:(\d+|0|all))?$")


def git(repo, *args, check=True):
    p = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if check and p.returncode:
        raise PinlabError(f"git {' '.join(args)}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
    return p.stdout.strip()


def parse_bench(name, cat=None):
    """(probe, backing, size in KiB, ppc) of --bench, checked against
    pinbench's own list."""
    m = BENCH.match(name.strip())
    if not m:
        raise PinlabError(f"--bench {name!r} matches nothing: PATH/BACKING[/size_kb:N][/ppc:N], "
                          "e.g. pin_longterm/anon/size_kb:4096/ppc:512")
    probe, backing = f"gup_test.{m[1]}", m[2]
    if cat is not None:
        probes = {p["name"] for p in cat["probes"]}
        backings = {b["name"] for b in cat["backings"]}
        if probe not in probes or backing not in backings:
            raise PinlabError(f"--bench {name!r} matches nothing (paths: "
                              f"{', '.join(sorted(p.split('.', 1)[1] for p in probes if p.startswith('gup_test.')))};"
                              f" backings: {', '.join(sorted(backings))})")
    size = int(m[3]) if m[3] else 4096
    ppc = 0 if m[4] in ("0", "all") else int(m[4]) if m[4] else 512
    return probe, backing, size, ppc


def matrix_text(probe, backing, size, ppc):
    return (f'description = """scripts/lab bisect: one benchmark, {probe} on {backing}."""\n\n'
            f'[[pinbench]]\nset = "default"\nprobes = ["{probe}"]\nbackings = ["{backing}"]\n'
            f'size = ["{size // 1024}M"]\nppc = [{ppc if ppc else chr(34) + "all" + chr(34)}]\nvmas = [1]\n'
            f'write = [1]\nrepetitions = 6\niterations = 1\n')


def parse(argv):
    ap = argparse.ArgumentParser(prog="scripts/lab bisect", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, metavar="GIT_DIR", help="a kernel git checkout (never written)")
    ap.add_argument("--good", required=True, metavar="REV")
    ap.add_argument("--bad", required=True, metavar="REV")
    ap.add_argument("--bench", required=True, help="PATH/BACKING[/size_kb:N][/ppc:N] (default 4 MiB, 512 per call)")
    ap.add_argument("--threshold", type=float, default=0.0, metavar="PCT",
                    help="the least change that counts (the base's committed A/A floors and 0.5 %% apply anyway)")
    ap.add_argument("--id")
    ap.add_argument("--allow-dirty", action="store_true", help="of pinlab's own tree (recorded)")
    return ap.parse_args(argv)


class Bisect:
    def __init__(self, a):
        self.a = a
        self.repo = os.path.abspath(a.tree)
        if not os.path.isdir(self.repo) or git(self.repo, "rev-parse", "--git-dir", check=False) == "":
            raise PinlabError(f"--tree {a.tree}: not a git checkout")
        self.good = git(self.repo, "rev-parse", "--verify", "--quiet", f"{a.good}^{{commit}}", check=False)
        self.bad = git(self.repo, "rev-parse", "--verify", "--quiet", f"{a.bad}^{{commit}}", check=False)
        if not self.good:
            raise PinlabError(f"--good {a.good}: not a commit of {a.tree}")
        if not self.bad:
            raise PinlabError(f"--bad {a.bad}: not a commit of {a.tree}")
        if subprocess.run(["git", "-C", self.repo, "merge-base", "--is-ancestor", self.good, self.bad]).returncode:
            raise PinlabError(f"--good {a.good} is not an ancestor of --bad {a.bad}")
        self.commits = git(self.repo, "rev-list", "--reverse", "--first-parent", f"{self.good}..{self.bad}").split()
        if not self.commits:
            raise PinlabError(f"--good {a.good} and --bad {a.bad} are the same commit")
        from . import plan
        self.bench = parse_bench(a.bench, plan.catalogue())

    def prepare(self, out):
        """The clone, the good tree's record (tree.py), the series of commits and
        their variants, the matrix: everything but the boots."""
        from . import review, tree
        self.out = out
        os.makedirs(os.path.join(out, "steps"))
        # one work directory per bisection running: two of one --id (two
        # test runs at once) removed each other's clone
        self.work = os.path.join(CACHE, f"bisect-{os.path.basename(out)}-{os.getpid()}")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.clone = os.path.join(self.work, "repo")
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", self.repo, self.clone], check=True)
        mk = git(self.clone, "show", f"{self.good}:Makefile", check=False)
        ver = tree.makefile_version(mk) or "?"
        ident = f"git commit {self.good}"
        rec = tree.tree_dir(f"{ident} version {ver}")
        if tree.made(rec):
            # the good commit's record is made already: its content
            base, rec, ident, ver = tree.prepare(rec)
        else:
            good_tree = os.path.join(self.work, "good")
            os.makedirs(good_tree)
            subprocess.run(f"git -C '{self.clone}' archive {self.good} | tar -x -C '{good_tree}'", shell=True,
                           check=True)
            base, rec, ident, ver = tree.prepare(good_tree, False, ident=ident)
            shutil.rmtree(good_tree)   # the record is what the builds read
        self.ident, self.base, self.record = ident, base, rec
        src, first = tree.sources(rec, base)
        series = []
        for i, c in enumerate(self.commits, 1):
            text = git(self.clone, "format-patch", "-1", "--stdout", "--no-signature", c) + "\n"
            subj = git(self.clone, "log", "-1", "--format=%s", c)
            series.append(dict(subject=subj, text=text, source=c, commit=c))
        status = review.check_applies(src, first + variants.instrumentation(base), series)
        root = os.path.join(out, "review", "kernel-patches")
        review.write_overlay(root, base, series, status)
        review.use_overlay(root)
        self.series = series
        self.allow_dirty = self.a.allow_dirty
        self.matrix = os.path.join(out, "bisect.toml")
        with open(self.matrix, "w") as f:
            f.write(matrix_text(*self.bench))
        self.figures = {}
        self.log = []

    def say(self, msg):
        line = f"bisect: {msg}"
        print(f"lab: {line}", file=sys.stderr, flush=True)
        self.log.append(line)

    def label_of(self, commit):
        if commit == self.good:
            return variants.label("baseline", self.base)
        return {p["commit"]: p.get("variant") for p in self.series}.get(commit)

    def measure(self, commit):
        """The bench's figure (instructions per page, the least repetition)
        on the good tree plus the commits up to this one; None when it does
        not build, boot or run."""
        if commit in self.figures:
            return self.figures[commit]
        from . import labrun
        label = self.label_of(commit)
        if label is None:
            self.say(f"{commit[:12]}: its patch does not apply to the good tree: skip")
            self.figures[commit] = None
            return None
        rid = f"{commit[:12]}"
        t0 = time.time()
        old = os.environ.get("PINLAB_RESULTS")
        os.environ["PINLAB_RESULTS"] = os.path.join(self.out, "steps")
        try:
            rc = labrun.main(["--variants", label, "--matrix", self.matrix, "--deterministic", "--boots", "1",
                              "--id", rid, "--tree", self.record, "--no-report"]
                             + (["--allow-dirty"] if self.allow_dirty else []))
        finally:
            if old is None:
                os.environ.pop("PINLAB_RESULTS", None)
            else:
                os.environ["PINLAB_RESULTS"] = old
        if rc >= 128:
            # stopped by a signal: the bisection stops with it (its work
            # directory goes on the way out)
            raise SystemExit(rc)
        fig = None
        run_dir = os.path.join(self.out, "steps", rid)
        if rc == 0 and os.path.exists(os.path.join(run_dir, "run.json")):
            run = store.open_run(run_dir)
            for s in run.sets(placement="default"):
                _, reps, _ = store.load_gbench(run.set_path(s), "deterministic")
                vals = [x["insn_per_page"] for bs in reps.values() for x in bs if "insn_per_page" in x]
                fig = min(vals) if vals else None
        self.figures[commit] = fig
        self.say(f"{commit[:12]} ({label}): " + (f"{fig:.1f} insn/page" if fig is not None else
                                                  f"no figure (exit {rc}): skip") + f" in {time.time() - t0:.0f} s")
        return fig

    def threshold(self):
        probe, backing = self.bench[:2]
        floors = compare.committed_floors({self.base}, "deterministic", "insn_per_page")
        return max(self.a.threshold, 0.5, floors.get(f"{probe}/{backing}", 0.0))


def main(argv=None):
    a = parse(argv)
    from . import labrun
    try:
        b = Bisect(a)
        rid = a.id or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-bisect"
        out = os.path.join(os.environ.get("PINLAB_RESULTS") or os.path.join(TOP, "results"), rid)
        if os.path.exists(out):
            raise PinlabError(f"{out} exists; pick another --id")
        labrun.check_clean(labrun.revision(), out, a.allow_dirty)
    except PinlabError as e:
        print(f"lab: bisect: {e}", file=sys.stderr)
        return 2
    try:
        b.prepare(out)
        return drive(b, out)
    finally:
        if getattr(b, "work", None):
            shutil.rmtree(b.work, ignore_errors=True)


def drive(b, out):
    """The endpoints, then git bisect run in the clone with this module's
    step as its predicate."""
    t0 = time.time()
    thr = b.threshold()
    b.say(f"{len(b.commits)} commits {b.good[:12]}..{b.bad[:12]} on {b.ident}; bench "
          f"{b.bench[0]}/{b.bench[1]} size {b.bench[2]} KiB ppc {b.bench[3] or 'all'}; threshold {thr:.2f} %")
    g, bad = b.measure(b.good), b.measure(b.bad)
    if g is None or bad is None:
        return finish(b, out, None, thr, t0, "an endpoint did not build or run")
    change = (bad - g) / g * 100
    if abs(change) <= thr:
        return finish(b, out, None, thr, t0, f"--bad is within the threshold of --good ({change:+.2f} %): nothing "
                                             "to bisect")
    # git bisect runs the step (this module, in a process of its own) with
    # the state it needs: where the series' variants are, --good's figure
    state = os.path.join(b.work, "state.json")
    with open(state, "w") as f:
        json.dump(dict(good=g, threshold=thr, out=out, work=b.work, base=b.base, matrix=b.matrix, record=b.record,
                       allow_dirty=b.a.allow_dirty, ident=b.ident, good_commit=b.good,
                       labels={p["commit"]: p.get("variant") for p in b.series}), f)
    git(b.clone, "bisect", "start", "--no-checkout", b.bad, b.good)
    env = dict(os.environ, PYTHONPATH=os.path.join(TOP, "scripts"))
    pr = subprocess.run(["git", "-C", b.clone, "bisect", "run", "/usr/bin/python3", "-m", "pinlab.bisect", state],
                        stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    out_lines = pr.stdout.splitlines(keepends=True)
    sys.stderr.write(pr.stdout)
    for c in b.commits:
        path = os.path.join(b.work, f"step-{c}.json")
        if os.path.exists(path):
            d = store.load_json(path)
            b.figures[c] = d["figure"]
            b.log += d["log"]
    log = git(b.clone, "bisect", "log", check=False)
    first = None
    for line in out_lines:
        m = re.match(r"^([0-9a-f]{40}) is the first bad commit", line)
        if m:
            first = m[1]
    git(b.clone, "bisect", "reset", check=False)
    with open(os.path.join(out, "git-bisect.log"), "w") as f:
        f.write(log + "\n\n" + "".join(out_lines))
    return finish(b, out, first, thr, t0, None if first else "git bisect named no single first commit (see "
                                                                "git-bisect.log)")


def finish(b, out, first, thr, t0, problem):
    boots = sum(1 for v in b.figures.values() if v is not None)
    res = dict(repo=b.repo, good=b.good, bad=b.bad, bench="/".join(map(str, b.bench)), threshold_pct=thr,
               tree=b.ident, base=b.base, commits=b.commits, figures=b.figures, first=first, problem=problem,
               boots=boots, seconds=round(time.time() - t0))
    if first:
        subj = git(b.clone, "log", "-1", "--format=%s", first)
        prev = b.commits[b.commits.index(first) - 1] if b.commits.index(first) else b.good
        before, after = b.figures.get(prev), b.figures.get(first)
        res.update(first_subject=subj, before=before, after=after)
        ch = f" ({(after - before) / before * 100:+.2f} %)" if before and after else ""
        b.say(f"first commit that moved {b.a.bench}: {first[:12]} {subj}: "
              + (f"{before:.1f} -> {after:.1f} insn/page{ch}" if before and after else "figures: see bisect.json"))
    else:
        b.say(f"no answer: {problem}")
    b.say(f"{boots} deterministic boots ({max(0, boots - 2)} after the endpoints) in {res['seconds']} s")
    # git bisect measures in its own order; the same figures in the series'
    good = b.figures.get(b.good)
    for i, c in enumerate([b.good] + b.commits):
        if c in b.figures:
            f = b.figures[c]
            b.say(f"in series order: {i:2d} {c[:12]} " + ("no figure (skipped)" if f is None else
                  f"{f:.1f} insn/page" + (f" ({(f - good) / good * 100:+.2f} %)" if good and i else " (--good)")))
    with open(os.path.join(out, "bisect.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out, "bisect.log"), "w") as f:
        f.write("\n".join(b.log) + "\n")
    return 0 if first else 1


class Step(Bisect):
    """One step of git bisect run, in its own process: the state the
    bisection wrote, the commit git checked out."""

    def __init__(self, state):
        self.__dict__.update(state)
        self.good = state["good_commit"]
        self.series = [dict(commit=c, variant=v) for c, v in state["labels"].items()]
        self.figures, self.log = {}, []
        from . import review
        review.use_overlay(os.path.join(self.out, "review", "kernel-patches"))


def step_main(state_path):
    """Exit 0 (unchanged: good), 1 (changed: bad) or 125 (skip) for HEAD."""
    st = store.load_json(state_path)
    commit = subprocess.run(["git", "rev-parse", "BISECT_HEAD"], capture_output=True, text=True).stdout.strip()
    s = Step(st)
    fig = s.measure(commit)
    ans = 125
    if fig is not None:
        ch = (fig - st["good"]) / st["good"] * 100
        ans = 1 if abs(ch) > st["threshold"] else 0
        s.say(f"{commit[:12]}: {ch:+.2f} % against --good: {'changed (bad)' if ans else 'unchanged (good)'}")
    with open(os.path.join(st["work"], f"step-{commit}.json"), "w") as f:
        json.dump(dict(figure=fig, log=s.log), f)
    return ans


if __name__ == "__main__":
    sys.exit(step_main(sys.argv[1]))
