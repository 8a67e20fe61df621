"""Where each committed run came from, read from its files: the revision
its manifest records, the revisions its result JSON record, whether each is
a commit of this repository and whether the tree was clean.  Written to
results/PROVENANCE.md by `scripts/lab provenance`; nothing in it is typed."""
import os
import subprocess

from . import TOP, store


def is_commit(rev):
    base = rev.split(" ")[0].removesuffix("-dirty")
    if not base or base == "unknown":
        return False
    return subprocess.run(["git", "-C", TOP, "cat-file", "-e", f"{base}^{{commit}}"],
                          capture_output=True).returncode == 0


def judge(rev):
    """What a revision string says about the tree that made a result."""
    if not rev or rev.startswith("unknown") or rev == "(none)":
        return "not recorded"
    notes = []
    if not is_commit(rev):
        notes.append("not a commit of this repository")
    if "-dirty" in rev:
        notes.append("uncommitted changes" + (" (--allow-dirty)" if "allow-dirty" in rev else ""))
    return "; ".join(notes) or "clean, committed"


def rows(results):
    out = []
    for run in store.find_runs(results):
        man = run.manifest().get("pinlab", "")
        revs = set()
        for s in run.index["sets"]:
            try:
                ctx, _, _ = store.load_gbench(run.set_path(s))
            except Exception:  # noqa: BLE001 (a broken set is the verdict's business)
                continue
            revs.add(ctx.get("pinlab_revision", "(none)"))
        stale = sorted(r for r in revs if man and r.split(" ")[0] != man.split(" ")[0])
        out.append(dict(run=run.id, manifest=man or "(none)", manifest_says=judge(man),
                        json=", ".join(sorted(revs)) or "-",
                        json_says="same as the manifest" if not stale else
                        "differs from the manifest: " + "; ".join(f"{r}: {judge(r)}" for r in stale)))
    return out


def write(results, out=None):
    out = out or os.path.join(results, "PROVENANCE.md")
    lines = ["# Provenance of the committed runs", "",
             "Made by `scripts/lab provenance` from each run's `manifest.txt` (`pinlab:`) and its result "
             "JSON (`pinlab_revision`). A revision with `-dirty` was made from a tree with uncommitted "
             "changes; one that is not a commit of this repository cannot be checked out. Runs from a "
             "dirty tree are kept for what they show, with this caveat; new runs under results/ are "
             "refused from a dirty tree unless `--allow-dirty`, which the manifest records.", "",
             "| run | manifest revision | what it says | JSON revision(s) | JSON against manifest |",
             "|---|---|---|---|---|"]
    found = rows(results)
    for r in found:
        lines.append(f"| {r['run']} | `{r['manifest']}` | {r['manifest_says']} | `{r['json']}` | {r['json_says']} |")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return f"provenance: {out}: {len(found)} runs"
