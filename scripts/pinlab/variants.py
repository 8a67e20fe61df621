"""Kernel variants: kernel-patches/BASE/NAME/ with variant.conf (what it
does, what it reproduces, its patch series, the kernel warnings it is
expected to print) and semantics: the rows of baseline's table that differ
on this variant, each with its reason (as kselftest's FIXTURE_VARIANT
varies a shared base).  The guest gets the merged table."""
import os
import re

from . import TOP, PinlabError

PATCHES = os.environ.get("PINLAB_PATCHES") or os.path.join(TOP, "kernel-patches", "6.1")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def base(patches=PATCHES):
    """The pinned base (BASE: PACKAGE, VERSION, TARBALL, SHA256)."""
    out = {}
    with open(os.path.join(patches, "BASE")) as f:
        for line in f:
            m = re.match(r'^([A-Z0-9_]+)="?([^"]*)"?$', line.strip())
            if m:
                out[m[1]] = m[2]
    return out


def known(patches=PATCHES):
    return sorted(d for d in os.listdir(patches)
                  if d != "instrumentation" and os.path.exists(os.path.join(patches, d, "variant.conf")))


def conf(name, patches=PATCHES):
    """variant.conf as a dict; WARNING lines (REGEX | reason) gathered into 'warnings'."""
    if not NAME.match(name):
        raise PinlabError(f"bad variant name '{name}'")
    path = os.path.join(patches, name, "variant.conf")
    if not os.path.exists(path):
        raise PinlabError(f"unknown variant '{name}' (known: {' '.join(known(patches))})")
    out = {"warnings": []}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'^(\w+)="(.*)"\s*$', line.strip())
            if not m:
                continue
            if m[1] == "WARNING":
                regex, sep, why = m[2].partition(" | ")
                if not sep or not why.strip():
                    raise PinlabError(f"{path}:{n}: WARNING=\"REGEX | reason\" needs its reason")
                out["warnings"].append((regex.strip(), why.strip()))
            else:
                out[m[1]] = m[2]
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


def semantics(name, patches=PATCHES):
    """The merged table for a variant: baseline's rows, each replaced by the
    variant's override of the same key, then the variant's new rows."""
    base = parse_table(os.path.join(patches, "baseline", "semantics"))
    if name == "baseline":
        return "\n".join(r[1] for r in base) + "\n"
    path = os.path.join(patches, name, "semantics")
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
