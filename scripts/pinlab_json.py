"""Shared by pinlab's analysis scripts: open result files (plain or .xz),
find a run's result sets, and read what the files beside a result set say
about the environment that made it (manifest, kernel config, QEMU command).
"""
import glob
import json
import lzma
import os
import re


def resolve(path):
    """path, or path.xz when only the compressed file exists."""
    if not os.path.exists(path) and os.path.exists(path + ".xz"):
        return path + ".xz"
    return path


def load(path):
    """Parse a JSON file, plain or xz-compressed (raises OSError/ValueError)."""
    path = resolve(path)
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def exists(path):
    return os.path.exists(resolve(path))


# RUN/VARIANT[.det][.bootN][.node1|.fio].json[.xz]; a host run's sets are
# named after their file (pinbench, pinbench-vmas, fio, ...)
SET_RE = re.compile(r"^(?P<variant>[A-Za-z0-9_+-]+?)(?P<det>\.det)?(?:\.boot(?P<boot>\d+))?"
                    r"(?:\.(?P<part>node1|fio))?\.json(?:\.xz)?$")


def set_name(path):
    """(variant, mode, boot, part) of a result file, from its name; part is
    "" (the microbenchmark matrix), "node1" (its node-1 placement) or "fio"."""
    m = SET_RE.match(os.path.basename(path))
    if not m:
        return None
    return (m["variant"], "deterministic" if m["det"] else "wallclock", int(m["boot"] or 1), m["part"] or "")


def run_sets(run_dir):
    """The Google Benchmark result files of a run: {(variant, mode, boot, part): path}."""
    out = {}
    for p in sorted(glob.glob(os.path.join(run_dir, "*.json")) + glob.glob(os.path.join(run_dir, "*.json.xz"))):
        key = set_name(p)
        if key is None or (p.endswith(".xz") and p[:-3] in out.values()):
            continue
        try:
            with (lzma.open if p.endswith(".xz") else open)(p, "rt") as f:
                head = f.read(4096)
        except OSError:
            continue
        if '"context"' in head:
            out[key] = p
    return out


def manifest(run_dir):
    """The run's manifest.txt as {key: value} (first occurrence wins)."""
    out = {}
    try:
        with open(os.path.join(run_dir, "manifest.txt")) as f:
            for line in f:
                k, sep, v = line.partition(": ")
                if sep and k not in out:
                    out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


def kernel_config(path):
    """CONFIG_X -> value ('n' for '# CONFIG_X is not set'), or None without a file."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line) or re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            out[m[1]] = m[2] if m.lastindex == 2 else "n"
    return out


def qemu_summary(cmdline):
    """The parts of a QEMU command line that change what is measured."""
    args = cmdline.replace("\\,", ",").replace("\\ ", " ").split()
    out = {}
    for i, a in enumerate(args[:-1]):
        nxt = args[i + 1]
        if a == "-machine":
            m = re.search(r"accel=(\w+)", nxt)
            out["accel"] = m[1] if m else "default"
        elif a in ("-smp", "-m", "-cpu"):
            out[a[1:]] = nxt
        elif a == "-icount":
            out["icount"] = nxt
    out.setdefault("icount", "off")
    return out


def set_env(path):
    """What the files beside a result set say: run, variant, mode, host,
    CPU, QEMU accel/icount/smp, kernel config (a dict, or None)."""
    path = resolve(path)
    run_dir = os.path.dirname(os.path.abspath(path))
    name = set_name(path)
    variant, mode, boot = (name[0], name[1], name[2]) if name else (os.path.basename(path), "?", 1)
    man = manifest(run_dir)
    env = dict(run=os.path.basename(run_dir), variant=variant, mode=mode, boot=boot,
               host=man.get("host", "unknown"), cpu=man.get("cpu", "unknown"),
               base=man.get("base", man.get("kernel", "unknown")))
    det = ".det" if mode == "deterministic" else ""
    boot_s = f".boot{boot}" if boot > 1 else ""
    qfile = os.path.join(run_dir, f"{variant}{det}{boot_s}.qemu-cmdline")
    try:
        with open(qfile) as f:
            q = qemu_summary(f.read())
        env.update({f"qemu_{k}": v for k, v in q.items()})
        env["qemu"] = man.get("qemu", "unknown")
        env["accel"] = q.get("accel", "?") + ("" if q.get("icount") == "off" else " -icount " + q["icount"])
    except OSError:
        env["accel"] = "native (no VM)" if "native" in man.get("mode", "native") else man.get("mode", "?")
    env["config"] = kernel_config(os.path.join(run_dir, f"{variant}.config"))
    return env
