"""Result files and the run index.

Every run directory has a run.json, written by the code that collects a
boot (or a host run) and read by everything else:

    {"schema": 1, "id": RUN, "kind": "lab"|"host", "command": ...,
     "manifest": {...}, "kernels": {VARIANT: {"config": F, "kernel": F}},
     "boots": [{"id", "base", "variant", "mode", "boot", "verdict",
                "reasons": [...], "seconds", "files": {ROLE: F}}],
     "sets":  [{"id", "kind": "pinbench"|"fio", "base", "variant",
                "mode", "boot", "placement", "matrix", "series",
                "file": F, "boot_id"}]}

F are paths relative to the run directory.  Nothing outside this module
reads a result file's name for its meaning.
"""
import json
import lzma
import os
import re

from . import PinlabError, metrics

SCHEMA = 1
INDEX = "run.json"


def resolve(path):
    """path, or path.xz when only the compressed file exists."""
    if not os.path.exists(path) and os.path.exists(path + ".xz"):
        return path + ".xz"
    return path


def load_json(path):
    """A JSON file, plain or xz-compressed; PinlabError when it cannot be read."""
    path = resolve(path)
    try:
        with (lzma.open if path.endswith(".xz") else open)(path, "rt") as f:
            return json.load(f)
    except OSError as e:
        raise PinlabError(f"{path}: {e.strerror or e}") from None
    except (ValueError, EOFError, lzma.LZMAError) as e:
        raise PinlabError(f"{path}: not JSON ({e})") from None


def load_gbench(path, mode=None):
    """(context, {run_name: [repetition dicts that ran]}, [all entries]) of
    a Google Benchmark JSON.  A deterministic set (its context says the
    clock counts instructions, or the index says mode deterministic) reads
    its figures as insn_per_*: one written before pinbench named its units
    has them as ns_per_*, relabelled here (and said so in the context)."""
    d = load_json(path)
    if not isinstance(d, dict) or "benchmarks" not in d or "context" not in d:
        raise PinlabError(f"{path}: not Google Benchmark JSON (no context/benchmarks)")
    ctx = d["context"]
    clock = ctx.get("clock_counts", "")
    if (mode == "deterministic" and not clock) or clock.startswith("instructions"):
        if not clock:
            ctx["clock_counts"] = "instructions (QEMU -icount; ns_per_* relabelled insn_per_* on reading)"
        for b in d["benchmarks"]:
            for old, new in metrics.RELABEL.items():
                if old in b:
                    b[new] = b.pop(old)
    reps = {}
    for b in d["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        reps.setdefault(b.get("run_name", b["name"]), []).append(b)
    return d["context"], reps, d["benchmarks"]


def read_kv(path):
    """A 'key: value' file (manifest.txt, kernel.txt) as a dict, first key wins."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.partition(": ")
                if sep and k.strip() not in out:
                    out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


class Run:
    """A run directory and its index."""

    def __init__(self, path, index):
        self.path = path
        self.index = index

    @property
    def id(self):
        return self.index["id"]

    def file(self, rel):
        return os.path.join(self.path, rel) if rel else None

    def sets(self, **attrs):
        """The sets whose attributes equal attrs (None matches anything)."""
        return [s for s in self.index["sets"]
                if all(v is None or s.get(k) == v for k, v in attrs.items())]

    def boot(self, boot_id):
        return next((b for b in self.index["boots"] if b["id"] == boot_id), None)

    def set_path(self, s):
        return resolve(os.path.join(self.path, s["file"]))

    def boot_file(self, s, role):
        b = self.boot(s.get("boot_id"))
        rel = b["files"].get(role) if b else None
        return os.path.join(self.path, rel) if rel else None

    def kernel_file(self, variant, role):
        rel = self.index.get("kernels", {}).get(variant, {}).get(role)
        return os.path.join(self.path, rel) if rel else None

    def manifest(self):
        return self.index.get("manifest", {})


def open_run(path):
    """The run at path (a directory with run.json); PinlabError otherwise."""
    if not os.path.isdir(path):
        raise PinlabError(f"{path}: no such run directory")
    idx = os.path.join(path, INDEX)
    if not os.path.exists(idx):
        raise PinlabError(f"{path}: no {INDEX} (not a pinlab run; an old run: scripts/lab index {path})")
    index = load_json(idx)
    if index.get("schema") != SCHEMA:
        raise PinlabError(f"{idx}: schema {index.get('schema')!r}, this pinlab reads {SCHEMA}")
    return Run(path, index)


def write_index(path, index):
    index = dict(index, schema=SCHEMA)
    index["sets"] = sorted(index["sets"], key=lambda s: s["id"])
    tmp = os.path.join(path, INDEX + ".tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, os.path.join(path, INDEX))


def new_set(kind, base, variant, mode, file, boot=1, placement="default", matrix="", series=None,
            boot_id=None, set_id=None):
    return dict(id=set_id or file.split(".json")[0], kind=kind, base=base, variant=variant, mode=mode,
                boot=boot, placement=placement, matrix=matrix, file=file, boot_id=boot_id,
                series=series or variant + ("" if placement == "default" else f" {placement}")
                + (" fio" if kind == "fio" else ""))


def boot_id(variant, mode, boot):
    """A boot's id and directory: VARIANT[.det][.bootN] (the naming older runs used for files)."""
    return variant + (".det" if mode == "deterministic" else "") + (f".boot{boot}" if boot > 1 else "")


def set_id(variant, mode, boot, kind, placement):
    return boot_id(variant, mode, boot) + ("" if placement == "default" else f".{placement}") \
        + (".fio" if kind == "fio" else "")


def set_kind(path):
    """pinbench or fio, from what the set measures."""
    _, reps, entries = load_gbench(path)
    if any(b.get("name", "").startswith("fio.") for b in entries) or \
            any("iops" in x for r in reps.values() for x in r):
        return "fio"
    return "pinbench"


# ---- runs made before run.json existed -------------------------------------
# Their files were named VARIANT[.det][.bootN][.node1|.fio].EXT; this is the
# one place that reads that naming, to write their index once.
LEGACY = re.compile(r"^(?P<variant>[A-Za-z0-9_+-]+?)(?P<det>\.det)?(?:\.boot(?P<boot>\d+))?"
                    r"(?:\.(?P<part>node1|fio))?\.json(?:\.xz)?$")


def legacy_index(path):
    """The index of a run made before run.json, from its file names."""
    rid = os.path.basename(os.path.abspath(path))
    man = read_kv(os.path.join(path, "manifest.txt"))
    names = sorted(os.listdir(path))
    lab = "qemu" in man
    base = man.get("base", man.get("kernel", "unknown")).split(" sha256")[0]
    if lab:
        m = re.search(r"linux-source-(\S+)", base)
        base = m[1] if m else base
    else:
        base = "host " + base
    sets, boots, kernels = [], {}, {}
    for n in names:
        m = LEGACY.match(n)
        if not m or (n.endswith(".xz") and n[:-3] in names):
            continue
        try:
            kind = set_kind(os.path.join(path, n))
        except PinlabError:
            continue  # another tool's JSON
        mode = "deterministic" if m["det"] else "wallclock"
        boot = int(m["boot"] or 1)
        stem = n.split(".json")[0]
        if not lab:
            sets.append(new_set(kind, base, "host", mode, n.replace(".xz", ""), series=stem, set_id=stem))
            continue
        v = m["variant"]
        prefix = v + (".det" if m["det"] else "") + (f".boot{boot}" if boot > 1 else "")
        bid = prefix
        if bid not in boots:
            boots[bid] = legacy_boot(path, names, bid, base, v, mode, boot, man)
        placement = "node1" if m["part"] == "node1" else "default"
        sets.append(new_set(kind, base, v, mode, n.replace(".xz", ""), boot=boot, placement=placement,
                            matrix=man.get("matrix", ""), boot_id=bid, set_id=stem))
        for role, ext in (("config", "config"), ("kernel", "kernel.txt"), ("build_log", "build.log")):
            if f"{v}.{ext}" in names:
                kernels.setdefault(v, {})[role] = f"{v}.{ext}"
    command = man.get("command", "")
    if not command and os.path.exists(os.path.join(path, "commands.txt")):
        with open(os.path.join(path, "commands.txt")) as f:
            command = f.readline().removeprefix("# made by: ").strip()
    m = re.search(r"--variants (\S+)", command)
    variants = m[1].split(",") if m else sorted({s["variant"] for s in sets})
    return dict(schema=SCHEMA, id=rid, kind="lab" if lab else "host", command=command, manifest=man,
                kernels=kernels, variants=variants, boots=sorted(boots.values(), key=lambda b: b["id"]), sets=sets,
                legacy=True)


def legacy_boot(path, names, bid, base, variant, mode, boot, man):
    """A boot's files: every NAME that is PREFIX.ROLE with no further boot in ROLE."""
    files = {}
    for n in names:
        if not n.startswith(bid + "."):
            continue
        role = n[len(bid) + 1:]
        if re.match(r"^(det\.|boot\d+\.)", role):
            continue
        role = re.sub(r"\.xz$", "", role)
        role = {"console.log": "console", "json": "pinbench", "node1.json": "pinbench-node1",
                "fio.json": "fio"}.get(role, role)
        files[role] = n
    lines = [x for x in open(os.path.join(path, "manifest.txt")).read().splitlines()
             if x.startswith(f"variant {variant} {mode} boot {boot}:")] if man else []
    verdict = "ok" if lines and ": ok" in lines[0] else ("failed" if lines else "unknown")
    secs = re.search(r"boot\+matrix (\d+) s", lines[0]) if lines else None
    return dict(id=bid, base=base, variant=variant, mode=mode, boot=boot, verdict=verdict,
                reasons=[] if verdict == "ok" else [lines[0].split(": ", 1)[1]] if lines else [],
                seconds=int(secs[1]) if secs else None, files=files)


def find_runs(results):
    """Every run directory under results/ with an index, oldest first."""
    out = []
    for rid in sorted(os.listdir(results)):
        p = os.path.join(results, rid)
        if os.path.isdir(p) and os.path.exists(os.path.join(p, INDEX)):
            out.append(open_run(p))
    return out
