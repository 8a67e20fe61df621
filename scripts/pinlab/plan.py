"""The lab plan as data: a matrix (lab/matrices/NAME.toml) becomes the exact
command lines a guest or the host runs, and the VM table (lab/vm.toml)
becomes QEMU's arguments, the guest's device setup and the manifest line.

A guest job is a commands file: one command a line, fields separated by
TABs: NAME, the file its standard output goes to (relative to the job's
output directory, '-' for none), then the argv.  The guest runs each line
as it stands (no shell, nothing sourced) and records its exit status in
rc/NAME.  Paths the guest only knows at run time are fixed by the VM table
(mount points, /dev/pinlab-devdax)."""
import os
import tomllib

from . import TOP, PinlabError

LAB = os.path.join(TOP, "lab")
GUEST_OUT = "/tmp/out"


def load_toml(path, what):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise PinlabError(f"{what} {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise PinlabError(f"{what} {path}: {e}") from None


def matrices():
    return sorted(f[:-5] for f in os.listdir(os.path.join(LAB, "matrices")) if f.endswith(".toml"))


PINBENCH_KEYS = {"set", "probes", "backings", "quick_backings", "size", "size_for", "ppc", "vmas", "write", "node",
                 "cpu_node", "cpu", "repetitions", "iterations", "min_time"}
FIO_KEYS = {"families", "buffers", "bs", "rw", "runtime", "reps", "size", "quick_bs", "quick_rw", "quick_runtime",
            "quick_reps"}
PERF_KEYS = {"probes", "backings", "size", "ppc", "vmas", "min_time"}
EXTRA_KEYS = {"name", "programs", "argv", "stdout", "outputs"}


# pinsem's tables, each a guest command: FS-DAX on ext4 (the base table),
# the same rows on XFS, and a variant's rows against its reference's
# expectations, and the peer suite (the kernel's own gup_longterm); a
# matrix may run fewer ("semantics = ["ext4"]": a long review's boots)
SEMANTICS_TABLES = ("ext4", "xfs", "cross", "peer")


def load_matrix(name):
    """A matrix by name (lab/matrices/NAME.toml) or a .toml file's path (a
    bisect writes its own), checked: unknown keys and missing fields are errors."""
    if name.endswith(".toml") and os.path.isfile(name):
        path, name = os.path.abspath(name), os.path.basename(name)[:-5]
    else:
        path = os.path.join(LAB, "matrices", f"{name}.toml")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise PinlabError(f"bad matrix name {name!r}")
    if not os.path.exists(path):
        raise PinlabError(f"unknown matrix '{name}' (known: {' '.join(matrices())})")
    m = load_toml(path, "matrix")
    checks = [("pinbench", PINBENCH_KEYS, True), ("fio", FIO_KEYS, False), ("perf_record", PERF_KEYS, False),
              ("extra", EXTRA_KEYS, True)]
    known = {"description", "semantics"} | {c[0] for c in checks}
    for k in m:
        if k not in known:
            raise PinlabError(f"matrix {name}: unknown section '{k}' (known: {', '.join(sorted(known))})")
    for sec, keys, many in checks:
        for entry in (m.get(sec, []) if many else [m[sec]] if sec in m else []):
            bad = set(entry) - keys
            if bad:
                raise PinlabError(f"matrix {name}: [{sec}] has unknown keys {sorted(bad)}")
    sem = m.get("semantics", list(SEMANTICS_TABLES))
    if not isinstance(sem, list) or not sem or set(sem) - set(SEMANTICS_TABLES) or "ext4" not in sem:
        raise PinlabError(f"matrix {name}: semantics must list tables among {', '.join(SEMANTICS_TABLES)}, "
                          "ext4 among them (every boot checks the base table)")
    m["semantics"] = sem
    sets = [p.get("set") for p in m.get("pinbench", [])]
    if None in sets or len(set(sets)) != len(sets):
        raise PinlabError(f"matrix {name}: every [[pinbench]] needs a distinct 'set'")
    for p in m.get("pinbench", []) + ([m["perf_record"]] if "perf_record" in m else []):
        if not p.get("probes") or not p.get("backings"):
            raise PinlabError(f"matrix {name}: a pinbench entry needs probes and backings")
    m["name"], m["path"] = name, path
    return m


MAKE_LOCK = os.path.join(TOP, "build", ".make.lock")


def make(target):
    """make -s TARGET in the repository, one at a time (two lab runs of one
    tree would race on build/); the CompletedProcess."""
    import subprocess
    from .bases import locked
    with locked(MAKE_LOCK):
        return subprocess.run(["make", "-s", "-C", TOP, target], capture_output=True, text=True)


def catalogue():
    """pinbench's own list of probes and backings (--list=json), built if need be."""
    import json
    import subprocess
    r = make("all")
    if r.returncode:
        raise PinlabError(f"make all failed: {r.stderr.strip().splitlines()[-1:] or r.returncode}")
    r = subprocess.run([os.path.join(TOP, "bench", "pinbench"), "--list=json"], capture_output=True, text=True)
    if r.returncode:
        raise PinlabError(f"pinbench --list=json failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def check_names(matrix, cat):
    """Every probe and backing a matrix names is one pinbench has."""
    probes = {p["name"] for p in cat["probes"]}
    backings = {b["name"] for b in cat["backings"]}
    for p in matrix.get("pinbench", []) + ([matrix["perf_record"]] if "perf_record" in matrix else []):
        for kind, names, known in (("probe", p["probes"], probes),
                                   ("backing", p["backings"] + p.get("quick_backings", []) + list(p.get("size_for", {})),
                                    backings)):
            bad = [n for n in names if n not in known]
            if bad:
                raise PinlabError(f"matrix {matrix['name']}: unknown {kind} '{bad[0]}' "
                                  f"(pinbench has: {', '.join(sorted(known))})")


def csv(values):
    return ",".join(str(v) for v in values)


def pinbench_args(p, quick=False):
    """pinbench's own arguments for one [[pinbench]] or [perf_record] entry."""
    backings = p.get("quick_backings", p["backings"]) if quick else p["backings"]
    args = [f"--probe={csv(p['probes'])}", f"--backing={csv(backings)}"]
    for key, opt in (("size", "size"), ("ppc", "ppc"), ("vmas", "vmas"), ("write", "write")):
        if key in p:
            args.append(f"--{opt}={csv(p[key])}")
    if "size_for" in p:
        args.append("--size-for=" + ",".join(f"{b}:{v}" for b, v in p["size_for"].items()))
    for key, opt in (("node", "--node"), ("cpu_node", "--cpu-node"), ("cpu", "--cpu"), ("iterations", "--iterations"),
                     ("repetitions", "--benchmark_repetitions"), ("min_time", "--benchmark_min_time")):
        if key in p:
            args.append(f"{opt}={p[key]}")
    return args


def fio_args(f, quick=False):
    """workloads/fio/run.sh's arguments for a [fio] section."""
    if quick:
        f = dict(f, **{k[6:]: v for k, v in f.items() if k.startswith("quick_")})
    args = []
    for key in ("families", "buffers", "bs", "rw"):
        if key in f:
            args += [f"--{key}", csv(f[key])]
    for key in ("runtime", "reps", "size"):
        if key in f:
            args += [f"--{key}", str(f[key])]
    return args


def guest_commands(matrix, vm, variant, cross, mode="wallclock", seed=0):
    """(commands, sets): the guest job's command lines, and the result sets
    they produce as {file: (kind, placement)}.  A deterministic boot's
    pinbench names its figures in instructions (--unit); seed > 0 perturbs
    its layout (benchmark order, buffer addresses)."""
    lab = (["--unit=instructions"] if mode == "deterministic" else []) + ([f"--seed={seed}"] if seed else [])
    out = GUEST_OUT
    mounts = {d["role"]: d.get("mount") for d in vm["nvdimm"]}
    devdax = next(d["link"] for d in vm["nvdimm"] if d["mode"] == "devdax")
    here = ["--fsdax-dir", mounts["fsdax-ext4"], "--devdax", devdax, "--dir", mounts["disk"]]
    tables = matrix.get("semantics", SEMANTICS_TABLES)
    cmds = [("semantics", "semantics.tap", ["pinsem", *here, "/job/semantics"])]
    if "xfs" in tables:
        cmds.append(("semantics-xfs", "semantics-xfs.tap",
                     ["pinsem", "--fsdax-dir", mounts["fsdax-xfs"], "--devdax", devdax, "--dir", mounts["disk"],
                      "/job/semantics"]))
    if cross and "cross" in tables:
        cmds.append(("semantics-cross", "semantics-cross.tap", ["pinsem", *here, "/job/semantics.cross"]))
    # the peer suite: the kernel's own gup_longterm (v6.4 on), its local
    # files on the page-cache filesystem pinsem's pagecache rows use
    if "peer" in tables:
        cmds.append(("peer-gup-longterm", "peer-gup-longterm.tap",
                     ["sh", "/usr/share/pinlab/peer.sh", mounts["disk"]]))
    sets = {}
    for p in matrix.get("pinbench", []):
        name = "pinbench" if p["set"] == "default" else f"pinbench-{p['set']}"
        # pinbench's FS-DAX is XFS made with su=2m (scripts/guest/job.sh): its
        # files' 2 MiB extent-size hint makes fsdax PMD-mapped in every boot
        places = [] if "node" in p else [f"--fsdax-dir={mounts['fsdax-xfs']}", f"--devdax={devdax}"]
        # deterministic: every pass's figures (a profiling boot, the same
        # job, joins its plugin's windows to them)
        passes = [f"--passes-out={out}/{name}-passes.tsv"] if mode == "deterministic" else []
        cmds.append((name, f"{name}.txt", ["pinbench", *pinbench_args(p), *lab, f"--label={variant}", *places,
                                           f"--dir={mounts['disk']}", f"--benchmark_out={out}/{name}.json",
                                           "--benchmark_out_format=json", *passes]))
        sets[f"{name}.json"] = ("pinbench", p["set"])
    if "fio" in matrix:
        cmds.append(("fio", "fio.txt", ["sh", "/usr/share/pinlab/workloads/fio/run.sh", "--out", f"{out}/fio",
                                        "--dir", mounts["disk"], "--fsdax-dir", mounts["fsdax-ext4"],
                                        *fio_args(matrix["fio"])]))
        sets["fio.json"] = ("fio", "default")
    if "perf_record" in matrix:
        p = matrix["perf_record"]
        cmds += [("perf-record", "perf-pinbench.txt",
                  ["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "999", "-o", "/tmp/perf.data", "--",
                   "pinbench", *pinbench_args(p), *lab, f"--label={variant}", *here[:4],
                   f"--dir={mounts['disk']}"]),
                 ("perf-script", "perf.script", ["perf", "script", "-i", "/tmp/perf.data"]),
                 ("perf-report", "perf-report.txt",
                  ["sh", "-c", ". /usr/share/pinlab/workloads/lib.sh && pinlab_perf_report /tmp/perf.data /dev/stdout"])]
    for e in matrix.get("extra", []):
        cmds.append((e["name"], e.get("stdout", f"{e['name']}.txt"), list(e["argv"])))
    return cmds, sets


def commands_file(cmds):
    lines = []
    for name, stdout, argv in cmds:
        if any("\t" in x or "\n" in x for x in [name, stdout, *argv]):
            raise PinlabError(f"command {name}: a TAB or newline in its arguments")
        lines.append("\t".join([name, stdout or "-", *argv]))
    return "\n".join(lines) + "\n"


PEER_SINCE = [6, 4]   # tools/testing/selftests/mm/gup_longterm.c came in v6.4


def peer_programs(bases):
    """The peer suite's programs for a run's bases: each base's own
    gup_longterm (build/selftests/gup_longterm-BASE, made here), for the
    bases that have one."""
    from . import variants
    out = []
    for b in bases:
        if variants.version_key(b)[:2] < PEER_SINCE:
            continue
        q = f"build/selftests/gup_longterm-{b}"
        r = make(q)
        if r.returncode:
            raise PinlabError(f"make {q} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
        out.append(os.path.join(TOP, q))
    return out


def extra_programs(matrix, bases=("6.1",)):
    """The programs [[extra]] entries carry into the guest; one named by a
    path inside the repository is made first (make PATH).  A path with
    {base} is one program per base of the run (build/selftests/gup_test-{base}:
    each base's own selftest; the guest picks by its kernel's version)."""
    out = []
    for p in (p for e in matrix.get("extra", []) for p in e.get("programs", [])):
        for q in ([p.replace("{base}", b) for b in bases] if "{base}" in p else [p]):
            if not os.path.isabs(q):
                r = make(q)
                if r.returncode:
                    raise PinlabError(f"make {q} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
                q = os.path.join(TOP, q)
            if q not in out:
                out.append(q)
    return out


# ---- the VM -----------------------------------------------------------------

def load_vm():
    vm = load_toml(os.path.join(LAB, "vm.toml"), "VM table")
    roles = [d["role"] for d in vm["nvdimm"]]
    for need in ("fsdax-ext4", "fsdax-xfs", "devdax", "disk", "transport"):
        if need not in roles:
            raise PinlabError(f"lab/vm.toml: no NVDIMM with role {need!r}")
    if len(set(roles)) != len(roles):
        raise PinlabError("lab/vm.toml: NVDIMM roles must be distinct")
    for slot, d in enumerate(vm["nvdimm"]):
        d["slot"] = slot
    return vm


def qemu_args(vm, kernel, initrd, console, nvdir, mode, accel):
    """QEMU's argv for one boot; the NVDIMM backing files are nvdir/nvSLOT."""
    det = mode == "deterministic"
    smp = vm["deterministic"]["smp"] if det else vm["wallclock"]["smp"]
    acc = "tcg" if det else accel
    cpu = vm["deterministic"]["cpu"] if det else ("host" if acc == "kvm" else "max")
    mem = vm["memory"]
    args = ["qemu-system-x86_64", "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot"]
    if acc == "tcg" and not det:
        # -accel and -machine accel= exclude each other
        args += ["-machine", "pc,nvdimm=on", "-accel", vm["wallclock"]["tcg"]]
    else:
        args += ["-machine", f"pc,nvdimm=on,accel={acc}"]
    if det:
        args += ["-icount", vm["deterministic"]["icount"], "-rtc", vm["deterministic"]["rtc"]]
    args += ["-cpu", cpu, "-smp", str(smp), "-m", f"{mem['size']},slots={mem['slots']},maxmem={mem['maxmem']}"]
    for n in vm["node"]:
        args += ["-object", f"memory-backend-ram,id=m{n['id']},size={n['size']}"]
    for n in vm["node"]:
        args += ["-numa", f"node,nodeid={n['id']}" + (f",cpus=0-{smp - 1}" if n["cpus"] else "") + f",memdev=m{n['id']}"]
    for d in vm["nvdimm"]:
        s = d["slot"]
        args += ["-object", f"memory-backend-file,id=nv{s},share=on,mem-path={nvdir}/nv{s},size={d['size']},align=2M",
                 "-device", f"nvdimm,memdev=nv{s},id=nvdimm{s},slot={s},node={d.get('node', 1)}"]
    transport = next(d["slot"] for d in vm["nvdimm"] if d["role"] == "transport")
    args += ["-serial", f"file:{console}", "-kernel", kernel, "-initrd", initrd,
             "-append", f"{vm['kernel']['cmdline']} pinlab_transport={transport}"]
    return args


def guest_roles(vm):
    """The guest's device table: ROLE SLOT MODE FS MOUNT OPTIONS LINK, one a line."""
    return "".join(" ".join([d["role"], str(d["slot"]), d["mode"], d.get("fs", "-"), d.get("mount", "-"),
                             d.get("options", "-"), d.get("link", "-")]) + "\n" for d in vm["nvdimm"])


def guest_line(vm):
    nodes = ", ".join(f"node {n['id']} {n['size']}" + (" with the CPUs" if n["cpus"] else " memory only")
                      for n in vm["node"])
    dimms = ", ".join(f"{d['role']} {d['size']} ({d['mode']}{'/' + d['fs'] if 'fs' in d else ''})"
                      for d in vm["nvdimm"])
    return f"{vm['memory']['size']} in {len(vm['node'])} NUMA nodes ({nodes}); NVDIMMs on node 1 by slot: {dimms}"
