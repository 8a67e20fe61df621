"""Kernel variants: kernel-patches/BASE/NAME/ with variant.conf (what it
does, what it reproduces, its patch series, the kernel warnings it is
expected to print) and semantics: the rows of baseline's table that differ
on this variant, each with its reason (as kselftest's FIXTURE_VARIANT
varies a shared base).  The guest gets the merged table."""
import os
import re

from . import TOP, PinlabError

ROOT = os.environ.get("PINLAB_PATCHES") or os.path.join(TOP, "kernel-patches")
DEFAULT_BASE = "6.1"   # a variant named without @BASE is on this base
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BASE_NAME = re.compile(r"^[0-9]+\.[0-9]+[a-z0-9.-]*$")


def version_key(b):
    """A sort key for kernel versions: 6.1 before 6.12."""
    return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", b)]


def bases():
    """The bases: every kernel-patches/*/BASE, oldest first."""
    return sorted((d for d in os.listdir(ROOT) if os.path.isfile(os.path.join(ROOT, d, "BASE"))), key=version_key)


def baselines(labels):
    """{BASE: label} of the baselines among labels, in their order."""
    return {base_of(v): v for v in labels if split(v)[0] == "baseline"}


def patches(b=DEFAULT_BASE):
    """kernel-patches/BASE; an unknown base is one line of error."""
    if not BASE_NAME.match(b):
        raise PinlabError(f"bad base name '{b}' (a kernel version: {', '.join(bases())})")
    d = os.path.join(ROOT, b)
    if not os.path.isfile(os.path.join(d, "BASE")):
        raise PinlabError(f"unknown base '{b}' (known: {' '.join(bases())})")
    return d


def split(spec):
    """NAME[@BASE] -> (NAME, BASE)."""
    name, sep, b = spec.partition("@")
    return name, (b if sep else DEFAULT_BASE)


def label(name, b=DEFAULT_BASE):
    """How a run names a variant: NAME on the default base, NAME@BASE on another."""
    return name if b == DEFAULT_BASE else f"{name}@{b}"


def normal(spec):
    """The label of a spec (baseline@6.1 -> baseline)."""
    return label(*split(spec))


def base_of(spec):
    return split(spec)[1]


def reference(spec):
    """The baseline a variant is judged against: its own base's."""
    return label("baseline", base_of(spec))


def base(b=DEFAULT_BASE):
    """The pinned base (BASE: PACKAGE, VERSION, SHA256, CONFIG, ...), with
    DISTRO_CONFIG, the committed config's path (bases.pins checks it all)."""
    out = {}
    d = patches(b)
    with open(os.path.join(d, "BASE")) as f:
        for line in f:
            m = re.match(r'^([A-Z0-9_]+)="?([^"]*)"?$', line.strip())
            if m:
                out[m[1]] = m[2]
    if out.get("CONFIG"):
        out["DISTRO_CONFIG"] = os.path.join(d, out["CONFIG"])
    return out


def known(b=DEFAULT_BASE):
    d = patches(b)
    return sorted(x for x in os.listdir(d)
                  if x != "instrumentation" and os.path.exists(os.path.join(d, x, "variant.conf")))


def conf(spec):
    """variant.conf of NAME[@BASE] as a dict (with name, base and label);
    WARNING lines (REGEX | reason: kernel warnings it prints by design)
    gathered into 'warnings', SEMANTICS_SKIP lines (REGEX | reason: semantics
    rows it expects to skip; any other skipped row fails the boot) into
    'semantics_skips'; PEER_FAIL lines (REGEX | reason: cases of the peer
    suite, gup_longterm, it is expected to fail) into 'peer_fails';
    CONTROL="REGEX | expectation" makes it a control:
    exactly the benchmarks whose short name matches REGEX must be flagged
    against its baseline ('^$': none, a negative control) -> 'control'."""
    name, b = split(spec)
    if not NAME.match(name):
        raise PinlabError(f"bad variant name '{name}'")
    d = patches(b)
    path = os.path.join(d, name, "variant.conf")
    if not os.path.exists(path):
        raise PinlabError(f"unknown variant '{name}' on base {b} (known: {' '.join(known(b))})")
    out = {"warnings": [], "semantics_skips": [], "peer_fails": [], "name": name, "base": b, "label": label(name, b)}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'^(\w+)="(.*)"\s*$', line.strip())
            if not m:
                continue
            if m[1] in ("WARNING", "SEMANTICS_SKIP", "CONTROL", "PEER_FAIL"):
                regex, sep, why = m[2].partition(" | ")
                if not sep or not why.strip():
                    raise PinlabError(f"{path}:{n}: {m[1]}=\"REGEX | reason\" needs its reason")
                try:
                    re.compile(regex.strip())
                except re.error as e:
                    raise PinlabError(f"{path}:{n}: {m[1]}: bad regex '{regex.strip()}': {e}") from None
                if m[1] == "CONTROL":
                    out["control"] = (regex.strip(), why.strip())
                elif m[1] == "PEER_FAIL":
                    out["peer_fails"].append((regex.strip(), why.strip()))
                else:
                    out["warnings" if m[1] == "WARNING" else "semantics_skips"].append((regex.strip(), why.strip()))
            else:
                out[m[1]] = m[2]
    return out


def instrumentation(b=DEFAULT_BASE):
    """The texts of the base's instrumentation series, in order (what every
    variant of the base is built on)."""
    d = patches(b)
    out = []
    for f in conf(f"instrumentation@{b}").get("SERIES", "").split():
        with open(os.path.join(d, f), encoding="utf-8", errors="surrogateescape") as fh:
            out.append(fh.read())
    return out


Row = tuple  # (probe, backing, write, expect, size)


def parse_table(path, overrides=False):
    """[(key, row text, reason)] of a semantics file; key = (probe, backing, write, size)."""
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            text, _, reason = line.rstrip("\n").partition(" -- ")
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            f_ = text.split()
            if len(f_) not in (4, 5) or f_[2] not in ("0", "1"):
                raise PinlabError(f"{path}:{n}: PROBE BACKING WRITE EXPECT [SIZE] expected: {line.strip()}")
            if overrides and not reason.strip():
                raise PinlabError(f"{path}:{n}: an override row needs its reason after ' -- '")
            rows.append(((f_[0], f_[1], f_[2], f_[4] if len(f_) == 5 else ""), " ".join(f_), reason.strip()))
    return rows


def semantics(spec):
    """The merged table for a variant: its base's baseline rows, each
    replaced by the variant's override of the same key, then the variant's
    new rows."""
    name, b = split(spec)
    d = patches(b)
    base = parse_table(os.path.join(d, "baseline", "semantics"))
    if name == "baseline":
        return "\n".join(r[1] for r in base) + "\n"
    path = os.path.join(d, name, "semantics")
    over = parse_table(path, overrides=True) if os.path.exists(path) else []
    by_key = {k: (text, why) for k, text, why in over}
    keys = {k for k, _, _ in base}
    lines = [f"# {name}: baseline's table with {len(over)} row(s) of its own"]
    for k, text, _ in base:
        if k in by_key:
            lines.append(f"# {name}: {by_key[k][1]}")
        lines.append(by_key[k][0] if k in by_key else text)
    for k, text, why in over:
        if k not in keys:
            lines += [f"# {name} (new row): {why}", text]
    return "\n".join(lines) + "\n"
