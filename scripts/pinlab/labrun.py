"""scripts/lab run: build, boot and measure kernel variants in QEMU with
emulated pmem and NUMA, in four stages with one input and one output each:

  plan     the command line, the matrix and the VM table -> the boots to
           make and each boot's job (commands file, semantics, devices)
  build    each variant -> a kernel (scripts/lab-build.sh, cached)
  boot     a kernel and a job -> the guest's outputs and QEMU's fate
  collect  those outputs -> RUN/BOOT-ID/, the boot's verdict, run.json

then the report.  A variant that fails to build, panics, hangs or fails
its verdict is recorded with its reasons; the run goes on and exits 1.
QEMU dies with the run: on SIGINT/SIGTERM, and through a parent-death
signal when the run itself is killed."""
import argparse
import concurrent.futures
import ctypes
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

from . import TOP, PinlabError, collect, engines, gb, plan, report, repeat, store, tcgprof, variants
from .engines import STOPPING, Stop, say
from .engines.local import DETERMINISTIC_NICE, Boot, StepClock, benchmarks_done, parse_size, pdeathsig, vm_slot  # noqa: F401


def parse(argv):
    ap = argparse.ArgumentParser(prog="scripts/lab run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", required=True,
                    help="comma list of variants, NAME[@BASE]: kernel-patches/BASE/NAME (BASE 6.1 when not given; "
                         "baseline,baseline@6.12 measures both bases)")
    ap.add_argument("--matrix", default="standard", help="lab/matrices/NAME.toml")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--deterministic", action="store_const", const="deterministic", dest="modes")
    g.add_argument("--modes", help="wallclock,deterministic (default wallclock)")
    ap.set_defaults(modes="wallclock")
    ap.add_argument("--boots", type=int, default=1,
                    help="boots per variant and mode (1-9): the unit of replication; each boot's layout is "
                         "perturbed by its seed (the boot number), wall-clock boots interleave A B A B")
    ap.add_argument("--wallclock-boots", type=int, default=0, metavar="N",
                    help="wall-clock boots per variant when they differ from the deterministic ones (default "
                         "--boots)")
    ap.add_argument("--profile", action="store_true",
                    help="one more deterministic boot per variant (boot 1's seed and job) with QEMU's TCG plugin "
                         "counting the instructions of every kernel function in each pin loop: "
                         "VARIANT.det.prof/profile.txt; never one of the measuring boots")
    ap.add_argument("--first-seed", type=int, default=1,
                    help="boot N has seed FIRST_SEED + N - 1 (default 1): another run's boots of the same "
                         "kernels get other layouts, for an A/A across runs")
    ap.add_argument("--no-perturb", action="store_true",
                    help="every boot the same layout (seed 0): boots of one image must then repeat exactly")
    ap.add_argument("--engine", choices=engines.names(), default="local",
                    help="where the boots run: local (QEMU on this host) or lava (jobs on a LAVA server, "
                         "deterministic boots on as many devices as it offers)")
    ap.add_argument("--server", metavar="URL", help="--engine lava: the LAVA server (http://HOST[:PORT]/)")
    ap.add_argument("--token-file", metavar="F", help="--engine lava: a file holding USER:TOKEN (an API token "
                                                      "of a user who may submit jobs)")
    ap.add_argument("--device-type", default="qemu", help="--engine lava: the device type to boot on (qemu)")
    ap.add_argument("--serve-url", metavar="URL",
                    help="--engine lava: the address at which the workers reach this run's HTTP server of kernels and "
                         "images (NAT, a forwarded port; it serves on that port); default: its address that reaches "
                         "the LAVA server")
    ap.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per boot")
    ap.add_argument("--id")
    ap.add_argument("--parallel", type=int, default=0,
                    help="deterministic boots at a time (default: one per host CPU)")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--allow-dirty", action="store_true",
                    help="write under results/ from a tree with uncommitted changes (recorded)")
    ap.add_argument("--tree", metavar="DIR",
                    help="build every variant on this kernel tree (a source directory or a git checkout; never "
                         "written) instead of its base's source, with the nearest base's instrumentation and "
                         "Debian config")
    # scripts/lab review: the run directory holds the review's series already
    ap.add_argument("--review", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def revision(top=TOP):
    """git describe --always --dirty of the tree, or "unknown" when git
    cannot say (not a repository, git missing or failing)."""
    try:
        p = subprocess.run(["git", "-C", top, "describe", "--always", "--dirty"], capture_output=True, text=True)
    except OSError:
        return "unknown"
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"


def check_clean(rev, out, allow_dirty):
    """Committed results come from a clean tree: refuse to write under
    results/ from a dirty tree, or from one whose state git cannot tell."""
    if allow_dirty or not os.path.abspath(out).startswith(os.path.join(TOP, "results") + os.sep):
        return
    if rev == "unknown":
        raise PinlabError("run: git cannot tell this tree's revision or whether it is clean: committed results "
                          "come from a clean tree (fix git, or --allow-dirty, which the manifest records)")
    if rev.endswith("-dirty"):
        raise PinlabError(f"run: the tree has uncommitted changes ({rev}): committed results come from a clean "
                          "tree (commit first, or --allow-dirty, which the manifest records)")


def make_plan(a):
    """Everything the run will do, checked before anything is built."""
    modes = a.modes.split(",")
    for m in modes:
        if m not in ("wallclock", "deterministic"):
            raise PinlabError(f"run: unknown mode '{m}' (wallclock, deterministic)")
    if not 1 <= a.boots <= 9:
        raise PinlabError("run: --boots must be 1-9")
    if not 0 <= a.wallclock_boots <= 9:
        raise PinlabError("run: --wallclock-boots must be 1-9")
    if not 1 <= a.first_seed <= 10 ** 6:
        raise PinlabError("run: --first-seed must be 1-1000000")
    if a.timeout < 1:
        raise PinlabError("run: --timeout must be seconds")
    parallel = a.parallel or max(1, (os.cpu_count() or 1))
    if not 1 <= parallel <= 64:
        raise PinlabError("run: --parallel must be 1-64")
    if a.profile and "deterministic" not in modes:
        raise PinlabError("run: --profile needs deterministic boots (--deterministic)")
    if "deterministic" in modes and a.accel == "kvm":
        raise PinlabError("run: deterministic mode needs TCG (-icount), not --accel kvm")
    vlist = [variants.normal(v) for v in a.variants.split(",")]
    if len(set(vlist)) != len(vlist):
        raise PinlabError(f"run: a variant named twice in --variants {a.variants}")
    confs = {v: variants.conf(v) for v in vlist}
    tree_info = None
    if a.tree:
        from . import tree
        tbase, tsrc, ident, ver = tree.prepare(a.tree, a.allow_dirty)
        other = [v for v in vlist if variants.base_of(v) != tbase]
        if other:
            raise PinlabError(f"run: --tree {a.tree} is {ver}, built on base {tbase}: {', '.join(other)} "
                              f"not on {tbase}")
        tree_info = dict(path=os.path.abspath(a.tree), id=ident, version=ver, base=tbase, record=tsrc)
    matrix = plan.load_matrix(a.matrix)
    plan.check_names(matrix, plan.catalogue())
    vm = plan.load_vm()
    rid = a.id or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + f"-lab-{a.matrix}-{'-'.join(modes)}"
    engine = engines.make(a.engine, a)
    engine.check(dict(modes=modes, profile=a.profile, id=rid))
    out = os.path.join(os.environ.get("PINLAB_RESULTS") or os.path.join(TOP, "results"), rid)
    if os.path.exists(out) and not (a.review and os.listdir(out) == ["review"]):
        raise PinlabError(f"run: {out} exists; pick another --id")
    rev = revision()
    check_clean(rev, out, a.allow_dirty)
    # wall-clock boots interleave (A B A B ...), deterministic ones may run in parallel
    nboots = {m: (a.wallclock_boots or a.boots) if m == "wallclock" else a.boots for m in modes}
    boots = [(v, m, b) for m in modes for b in range(1, nboots[m] + 1) for v in vlist]
    # a profiling boot per variant, after the measuring ones (same seed as boot 1)
    boots += [(v, "profile", 1) for v in vlist] if a.profile else []
    # the revision is the tree's at the plan: what the dirty check saw (edits
    # made while a long run goes on are not its inputs)
    p = dict(id=rid, out=out, variants=vlist, confs=confs, matrix=matrix, vm=vm, modes=modes, boots=boots,
             accel=a.accel, timeout=a.timeout, args=a, parallel=parallel, rev=rev, tree=tree_info, engine=engine)
    p["parallel"] = engine.slots(p)
    return p


def seed_of(p, boot):
    """The boot's layout perturbation: --first-seed + its number - 1, or 0
    with --no-perturb."""
    return 0 if p["args"].no_perturb else p["args"].first_seed + boot - 1


def job_for(p, variant, mode, boot, jobdir):
    """Write one boot's job into jobdir; returns what collect needs to judge it."""
    os.makedirs(jobdir)
    ref = variants.reference(variant)
    cross = variant != ref
    cmds, sets = plan.guest_commands(p["matrix"], p["vm"], variant, cross, mode, seed_of(p, boot))
    with open(os.path.join(jobdir, "commands.tsv"), "w") as f:
        f.write(plan.commands_file(cmds))
    with open(os.path.join(jobdir, "roles"), "w") as f:
        f.write(plan.guest_roles(p["vm"]))
    with open(os.path.join(jobdir, "semantics"), "w") as f:
        f.write(variants.semantics(variant))
    if cross:
        with open(os.path.join(jobdir, "semantics.cross"), "w") as f:
            f.write(variants.semantics(ref))
    perf = p["matrix"].get("perf_record")
    title = f"{variant} ({mode}): pinbench " + " ".join(plan.pinbench_args(perf)) if perf else variant
    outputs = [o for e in p["matrix"].get("extra", []) for o in e.get("outputs", [])]
    return dict(commands=[c[0] for c in cmds], sets=sets, warnings=p["confs"][variant]["warnings"],
                semantics_skips=p["confs"][variant]["semantics_skips"], cross=cross,
                peer_fails=p["confs"][variant].get("peer_fails", []),
                observe=p["confs"][variant].get("SEMANTICS") == "observe",
                matrix=p["matrix"]["name"], title=title, outputs=outputs)


def shown(path):
    """A path for a message: relative to the repository when inside it."""
    a = os.path.abspath(path)
    return os.path.relpath(a, TOP) if a.startswith(TOP + os.sep) else a


def sh(script, *args, log=None):
    """Run scripts/lab-SCRIPT.sh; its progress (stderr) goes to the terminal
    and to log; returns its last line of output (a path)."""
    cmd = ["bash", os.path.join(TOP, "scripts", f"lab-{script}.sh"), *args]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as pr:
        with Boot.lock:
            SCRIPTS.add(pr)
        try:
            logf = open(log, "w") if log else None
            for line in pr.stderr:
                if logf:
                    logf.write(line)
                if line.startswith("lab:"):
                    sys.stderr.write(line)
            out = pr.stdout.read()
            if logf:
                logf.close()
        except BaseException:
            os.killpg(pr.pid, signal.SIGKILL)  # a stopped run does not wait for a kernel build (make too)
            raise
        finally:
            with Boot.lock:
                SCRIPTS.discard(pr)
    if pr.returncode:
        raise PinlabError(f"{script} {' '.join(args)} failed (exit {pr.returncode})" + (f"; log: {log}" if log else ""))
    return out.strip().splitlines()[-1]


SCRIPTS = set()   # lab scripts running (builds), killed with a stopped run


def kill_scripts():
    with Boot.lock:
        for pr in list(SCRIPTS):
            try:
                os.killpg(pr.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def build_all(p, out, kernels, failed, ready=None):
    """Each variant's kernel directory into kernels, or its failure into
    failed; ready[v] is set when v is either (its boots may start)."""
    for v in p["variants"]:
        if STOPPING.is_set():
            break
        kdir = os.path.join(out, "kernels", v)
        os.makedirs(kdir, exist_ok=True)
        say(f"[{v}] build")
        t0 = time.time()
        try:
            k = sh("build", v, log=os.path.join(kdir, "build.log"))
        except PinlabError as e:
            if not STOPPING.is_set():
                say(f"[{v}] FAILED to build (log: {shown(kdir)}/build.log)")
                failed[v] = f"build: {e}"
        else:
            shutil.copy(os.path.join(k, "config"), os.path.join(kdir, "config"))
            shutil.copy(os.path.join(k, "kernel.txt"), os.path.join(kdir, "kernel.txt"))
            kernels[v] = dict(path=k, seconds=round(time.time() - t0),
                              built=store.read_kv(os.path.join(k, "kernel.txt")).get("build_seconds"))
        if ready:
            ready[v].set()
    if ready:
        for e in ready.values():   # a stopped run: nobody waits for a build that will not come
            e.set()


def initramfs(p, tmp):
    parts = [sh("initramfs")]
    if "fio" in p["matrix"] or "perf_record" in p["matrix"]:
        parts.append(sh("initramfs", "--workloads"))
    bases = sorted({c["base"] for c in p["confs"].values()})
    extra = plan.extra_programs(p["matrix"], bases) + plan.peer_programs(bases)
    if extra:
        parts.append(sh("initramfs", "--extra", *extra))
    if len(parts) == 1:
        return parts[0], os.path.basename(parts[0])
    # the kernel unpacks concatenated archives
    path = os.path.join(tmp, "initrd.cpio.gz")
    with open(path, "wb") as f:
        for x in parts:
            with open(x, "rb") as g:
                shutil.copyfileobj(g, f)
    return path, " + ".join(os.path.basename(x) for x in parts)


def padded_initrd(initrd, seed, tmp):
    """initrd plus an uncompressed cpio of one file, /pinlab-pad, of a
    seed-chosen size (0-1020 KiB in 4 KiB steps): where the initramfs and
    its unpacked pages sit in memory moves with it, as it would with a
    patched kernel's size.  Seed 0: initrd unchanged."""
    if not seed:
        return initrd
    size = (seed * 2654435761 % 256) * 4096

    def entry(name, mode, data):
        name = name.encode() + b"\0"
        hdr = b"070701" + b"".join(b"%08X" % x for x in (1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
        out = hdr + name
        out += b"\0" * (-len(out) % 4) + data
        return out + b"\0" * (-len(out) % 4)
    path = os.path.join(tmp, f"initrd.seed{seed}")
    with open(path, "wb") as f, open(initrd, "rb") as g:
        shutil.copyfileobj(g, f)
        f.write(b"\0" * (-f.tell() % 4))
        f.write(entry("pinlab-pad", 0o100644, b"\x5a" * size) + entry("TRAILER!!!", 0, b""))
    return path


def guard_tmp(tmp):
    """A guardian process that removes tmp (NVDIMM files, jobs, consoles)
    when the run dies of a signal it cannot catch; the run's own exit path
    removes it otherwise.  Returns the guardian's pid."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(fd, 0)
        os.dup2(fd, 1)
        os.closerange(3, 1024)
        signal.signal(signal.SIGUSR2, lambda *_: (shutil.rmtree(tmp, ignore_errors=True), os._exit(0)))
        pdeathsig(signal.SIGUSR2)
        if os.getppid() != parent:
            shutil.rmtree(tmp, ignore_errors=True)
            os._exit(0)
        while True:
            signal.pause()
    finally:
        os._exit(0)


def kvm_probe(p, kernel, initrd, tmp, out):
    """Does a guest boot under KVM here?  Writes kvm-probe.txt when not."""
    if p["accel"] != "auto" or "wallclock" not in p["modes"] or p["engine"].name != "local":
        return "tcg" if p["accel"] == "auto" else p["accel"]
    if not os.access("/dev/kvm", os.W_OK):
        return "tcg"
    tmp = os.path.join(tmp, "probe")
    jobdir = os.path.join(tmp, "job-probe")
    os.makedirs(jobdir)
    with open(os.path.join(jobdir, "commands.tsv"), "w") as f:
        f.write("")
    with open(os.path.join(jobdir, "roles"), "w") as f:
        f.write("")
    res, _ = Boot(p["vm"], kernel, initrd, jobdir, tmp, "wallclock", "kvm", 60).run(progress=False)
    console = open(os.path.join(tmp, "console.log"), errors="replace").read()
    if "pinlab-guest: done" in console:
        return "kvm"
    with open(os.path.join(out, "kvm-probe.txt"), "w") as f:
        f.write(f"kvm_probe: failed (QEMU exit {res['rc']}{', timed out' if res['timed_out'] else ''}): "
                + " ".join(console[-600:].split()) + "\n")
    say("KVM did not boot a guest (see kvm-probe.txt); using TCG")
    return "tcg"


def built_base(p, b, kernels):
    """What base b's kernels of this run were built from: the version
    actually used (kernel.txt's base line, with the reason when it is not
    the pinned one), else the pin."""
    for v, k in kernels.items():
        if p["confs"][v]["base"] == b:
            kv = store.read_kv(os.path.join(k["path"], "kernel.txt"))
            if kv.get("base"):
                return kv["base"] + (f" ({kv['base_fallback']})" if kv.get("base_fallback") else "")
    pin = variants.base(b)
    return f"{pin.get('PACKAGE')} {pin.get('VERSION')} sha256 {pin.get('SHA256')}"


def manifest_lines(p, accel, initrd_names, kernels=None):
    a, vm = p["args"], p["vm"]
    qv = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    bases = sorted({c["base"] for c in p["confs"].values()}, key=variants.bases().index)
    rev = p["rev"] + (" (--allow-dirty)" if a.allow_dirty else "")
    mem = open("/proc/meminfo").readline().split()[1]
    cpu = next((ln.split(": ", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    det = vm["deterministic"]
    lines = [("run", p["id"]),
             ("command", f"scripts/lab run --variants {a.variants} --matrix {a.matrix} --modes {','.join(p['modes'])} "
                         f"--boots {a.boots}{' --no-perturb' if a.no_perturb else ''}"
                         f"{f' --first-seed {a.first_seed}' if a.first_seed != 1 else ''} --accel {a.accel} "
                         f"--parallel {p['parallel']}"
                         + (f" --engine {a.engine} --server {a.server} --device-type {a.device_type}"
                            if a.engine != "local" else "") + f" --id {p['id']}"),
             ("modes", ",".join(p["modes"])), ("engine", p["engine"].manifest())]
    if "deterministic" in p["modes"]:
        lines.append(("deterministic", f"QEMU TCG -icount {det['icount']}, {det['smp']} vCPU, -cpu {det['cpu']}, "
                                       f"RTC {det['rtc']}: kernel times are instruction counts (1 ns = 1 instruction)"))
    lines.append(("layouts", "every boot seed 0 (--no-perturb): boots of one image repeat" if a.no_perturb else
                  f"boot N has seed S = N + {a.first_seed - 1}: an initramfs pad of (S * 2654435761 % 256) * 4 KiB "
                  "and pinbench --seed=S (benchmark order, buffer addresses)"))
    if "wallclock" in p["modes"]:
        lines.append(("wallclock accel", f"{accel} ({vm['wallclock']['smp']} vCPUs)"
                      + (", chosen by --accel auto" if a.accel == "auto" else "")))
    lines += [("qemu", qv), ("base", "; ".join(built_base(p, b, kernels or {}) for b in bases))]
    if p.get("tree"):
        lines.append(("tree", f"{p['tree']['id']} (built with the {p['tree']['base']} base's instrumentation "
                              "and config)"))
    if len(bases) > 1:
        lines.append(("bases", " ".join(bases)))
    lines += [
              ("matrix", a.matrix), ("host", ("the run's (its boots ran on LAVA, see engine): "
                                              if p["engine"].name != "local" else "")
                                             + f"{os.uname().nodename.split('.')[0]}, {os.cpu_count()} CPUs, "
                                             f"{mem} kB, {os.uname().release}"),
              ("cpu", cpu), ("pinlab", rev), ("initramfs", initrd_names), ("guest", plan.guest_line(vm))]
    return lines


def run(p):
    STOPPING.clear()   # a process may make one run after another (scripts/lab bisect)
    out = p["out"]
    os.makedirs(out, exist_ok=p["args"].review)
    tmp = tempfile.mkdtemp(prefix=f"pinlab-vm.{p['id']}.", dir=os.environ.get("TMPDIR", "/tmp"))
    guardian = guard_tmp(tmp)
    t_start = time.time()
    say(f"run {p['id']}: variants {' '.join(p['variants'])}, matrix {p['matrix']['name']}, modes "
        f"{','.join(p['modes'])}, {len(p['boots'])} boot(s)")
    index = dict(id=p["id"], kind="lab", variants=p["variants"], boots=[], sets=[], kernels={},
                 plan=dict(matrix="matrix.toml", vm="vm.toml"))
    if p.get("tree"):
        index["tree"] = {k: p["tree"][k] for k in ("path", "id", "version", "base")}
    # the plan as it was: the matrix and the VM table travel with the results
    shutil.copy(p["matrix"]["path"], os.path.join(out, "matrix.toml"))
    shutil.copy(os.path.join(plan.LAB, "vm.toml"), os.path.join(out, "vm.toml"))
    kernels, failed, man = {}, {}, Manifest(os.path.join(out, "manifest.txt"))
    lock = man.lock
    # deterministic boots do not feel the host's load: each starts as soon
    # as its kernel is built (an mm/ prefix of a review boots while the
    # next one builds); a wall-clock boot never overlaps a build
    pipelined = "wallclock" not in p["modes"]
    try:
        p["engine"].start(tmp)
        if p["args"].profile:
            say(f"profile: plugin {shown(tcgprof.plugin())}")
        if pipelined:
            initrd, names = initramfs(p, tmp)
            ready = {v: threading.Event() for v in p["variants"]}
            builder = threading.Thread(target=build_all, args=(p, out, kernels, failed, ready), daemon=True)
            builder.start()
        else:
            build_all(p, out, kernels, failed)
            initrd, names = initramfs(p, tmp)
            ready = None

        def manifest():
            """Once every kernel is built (or failed)."""
            accel = kvm_probe(p, next(iter(kernels.values()))["path"], initrd, tmp, out) if kernels else "tcg"
            lines = manifest_lines(p, accel, names, kernels)
            head = [f"{k}: {v}" for k, v in lines]
            head += [f"kernel {v}: {'built in ' + k['built'] + ' s' if k['seconds'] > 5 else 'cached'} "
                     f"({k['seconds']} s in this run)" for v, k in kernels.items()]
            head += [f"variant {v}: FAILED {why}" for v, why in failed.items()]
            with lock:
                for v in kernels:
                    index["kernels"][v] = {r: f"kernels/{v}/{f}" for r, f in (
                        ("config", "config"), ("kernel", "kernel.txt"), ("build_log", "build.log"))}
                index["manifest"], index["command"] = dict(lines), dict(lines)["command"]
                man.head(head)
                store.write_index(out, index)
            return accel
        if pipelined:
            err = []

            def head():
                builder.join()
                try:
                    manifest()
                except BaseException as e:   # raised again in the run's own thread
                    err.append(e)
            waiter = threading.Thread(target=head, daemon=True)
            waiter.start()
            boot_all(p, index, kernels, failed, initrd, tmp, out, "tcg", man, ready)
            waiter.join()
            if err:
                raise err[0]
        else:
            boot_all(p, index, kernels, failed, initrd, tmp, out, manifest(), man, ready)
        finish(p, index, out, failed, t_start)
    except Stop as e:
        say(f"run {p['id']}: stopped by signal {e.sig}; the VM is gone, partial results in {shown(out)}")
        return 128 + e.sig
    finally:
        STOPPING.set()
        kill_scripts()
        p["engine"].kill_all()
        p["engine"].stop()
        shutil.rmtree(tmp, ignore_errors=True)
        os.kill(guardian, signal.SIGKILL)
        os.waitpid(guardian, 0)
    return 1 if failed else 0




def boot_all(p, index, kernels, failed, initrd, tmp, out, accel, man, ready=None):
    """Every boot, in the plan's order.  Deterministic boots (one vCPU each,
    guest time counted in instructions, so the host's load cannot move
    their figures) run --parallel at a time; wall-clock boots never overlap
    anything."""
    todo = [(v, m, b) for v, m, b in p["boots"] if ready or (v in kernels and v not in failed)]
    say(f"layouts: boot N has seed N + {p['args'].first_seed - 1} (initramfs pad, pinbench --seed)"
        if not p["args"].no_perturb
        else "layouts: every boot seed 0 (--no-perturb)")
    det = [x for x in todo if x[1] in ("deterministic", "profile")]
    wall = [x for x in todo if x[1] == "wallclock"]

    def one(x):
        v, mode, b = x
        if ready:
            ready[v].wait()         # built, or failed to
        if STOPPING.is_set() or v not in kernels:   # a queued boot of a stopped run never starts
            return
        ok = boot_one(p, index, man, kernels[v]["path"], initrd, os.path.join(tmp, store.boot_id(v, mode, b)),
                      out, v, mode, b, accel)
        if not ok:
            failed[v] = "boot"
    for x in wall:
        one(x)
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=p["parallel"])
    try:
        for f in [ex.submit(one, x) for x in det]:
            f.result()
    except BaseException:
        STOPPING.set()
        p["engine"].kill_all()
        ex.shutdown(wait=True, cancel_futures=True)
        p["engine"].kill_all()
        raise
    finally:
        ex.shutdown(wait=True)


def boot_one(p, index, man, kernel, initrd, tmp, out, v, mode, b, accel):
    """One boot, collected; mode "profile": a deterministic boot of boot b's
    seed and job with the profiling plugin, kept apart from the measuring
    boots (run.json's profiles, its sets in its own record)."""
    prof = mode == "profile"
    mode = "deterministic" if prof else mode
    bid = store.boot_id(v, mode, b) + (".prof" if prof else "")
    nb = sum(1 for x in p["boots"] if x[0] == v and x[1] == mode)
    say(f"[{v}] {mode} boot {b}/{nb} ({'tcg, icount' if mode == 'deterministic' else accel})" if not prof
        else f"[{v}] profiling boot (tcg, icount, plugin; seed of boot {b})")
    jobdir = os.path.join(tmp, f"job-{bid}")
    job = job_for(p, v, mode, b, jobdir)
    os.makedirs(tmp, exist_ok=True)
    seed = seed_of(p, b)
    extra = tcgprof.qemu_args(kernel, tmp, os.path.join(tmp, "profile.txt")) if prof else ()
    boot = p["engine"].boot(p["vm"], kernel, padded_initrd(initrd, seed, tmp), jobdir, tmp, mode, accel,
                            p["timeout"], extra, label=f"{p['id']} {bid}")
    res, guest_out = boot.run(progress=p["parallel"] == 1 or mode != "deterministic")
    if STOPPING.is_set():
        return False
    if prof and os.path.exists(os.path.join(tmp, "profile.txt")):
        shutil.move(os.path.join(tmp, "profile.txt"), os.path.join(guest_out, "profile.txt"))
    cmdline = " ".join(shlex.quote(x) for x in boot.args)
    rec = dict(id=bid, base=p["confs"][v]["base"], variant=v, mode=mode, boot=b,
               seconds=res["seconds"], seed=seed, steps=res["steps"], engine=boot.record)
    rec, sets = collect.collect(out, rec, guest_out, boot.console, cmdline, res, job)
    if prof and "profile.txt" not in rec["files"]:
        rec.update(verdict="failed", reasons=rec["reasons"] + ["profile: the plugin wrote no profile.txt"])
    shutil.rmtree(tmp, ignore_errors=True)
    with man.lock:
        if prof:
            index.setdefault("profiles", []).append(dict(rec, sets=sets))
        else:
            index["boots"].append(rec)
            index["sets"] += sets
        store.write_index(out, index)
    summary = [f"{s['id']}: {gb_summary(out, s)}" for s in sets]
    man.add(f"variant {v} {'profiling' if prof else mode} boot {b}: "
            f"{'ok' if rec['verdict'] == 'ok' else 'FAILED: ' + '; '.join(rec['reasons'])}, boot+matrix {res['seconds']} s")
    what = "profiling boot" if prof else f"{mode} boot {b}"
    if rec["verdict"] != "ok":
        say(f"[{v}] {what} FAILED: " + "; ".join(rec["reasons"][:5]))
        return False
    say(f"[{v}] {what} ok in {res['seconds']} s: " + "; ".join(summary))
    return True


class Manifest:
    """manifest.txt: the run's head (written once its kernels are built)
    and a line per boot as each ends, in either order (a pipelined run's
    first boots end before its last kernel is built)."""

    def __init__(self, path):
        self.path, self.lock, self._head, self._boots = path, threading.Lock(), [], []

    def head(self, lines):   # called with self.lock held
        self._head = list(lines)
        self._write()

    def add(self, line):
        with self.lock:
            self._boots.append(line)
            self._write()

    def _write(self):
        with open(self.path, "w") as f:
            f.writelines(x + "\n" for x in self._head + self._boots)


def gb_summary(out, s):
    return gb.check(store.resolve(os.path.join(out, s["file"])))[1][-1]


def finish(p, index, out, failed, t_start):
    run = store.open_run(out)
    if any(s["boot"] > 1 for s in index["sets"]) and p["args"].no_perturb:
        ok, lines = repeat.check(run)
        with open(os.path.join(out, "repeatability.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        say(lines[-1])
        if ok is False:
            # boots of one image that do not repeat: the instrument is broken
            failed["repeatability"] = lines[-1]
            with open(os.path.join(out, "manifest.txt"), "a") as f:
                f.write(f"repeatability: FAILED: {lines[-1]} (repeatability.txt)\n")
    with open(os.path.join(out, "manifest.txt"), "a") as f:
        f.write(f"total: {round(time.time() - t_start)} s\n")
    index["manifest"]["total"] = f"{round(time.time() - t_start)} s"
    store.write_index(out, index)
    rel = shown(out)
    if not p["args"].no_report and any(s["kind"] == "pinbench" or s["kind"] == "fio" for s in index["sets"]):
        base = next(iter(variants.baselines(p["variants"]).values()), "none") \
            if len(p["variants"]) > 1 else "none"
        # the boots' results are kept whatever happens here; a report that
        # could not be written fails the run (its exit status says so)
        try:
            say(report.write(out, base, command=f"scripts/lab report {p['id']}"
                             + ("" if base == "baseline" else f" --baseline {base}")))
        except PinlabError as e:
            say(f"report: {e}")
            failed["report"] = str(e)
        except Exception as e:   # a bug in the report: its traceback, and the run fails
            traceback.print_exc()
            say(f"report: {type(e).__name__}: {e}")
            failed["report"] = f"{type(e).__name__}: {e}"
        if "report" in failed:
            with open(os.path.join(out, "manifest.txt"), "a") as f:
                f.write(f"report: FAILED: {failed['report']} (rerun: scripts/lab report {p['id']})\n")
    if failed:
        say(f"run {p['id']}: FAILED: {', '.join(failed)} ({rel}/manifest.txt)")
    else:
        say(f"run {p['id']}: done -> {rel}/report.md")


def aa_main(argv=None):
    """scripts/lab aa BASE: the build A/A of a base, as one lab run."""
    ap = argparse.ArgumentParser(
        prog="scripts/lab aa",
        description="The build A/A of a base: baseline@BASE and aa-build@BASE (the same source rebuilt with a "
                    "padding object linked before mm/: code and data move, no instruction changes), each booted "
                    "BOOTS times deterministically with perturbed layouts.  The report writes "
                    "aa-build-floor-deterministic.json (per path x backing, the spread of both builds' boots "
                    "pooled); committed, it is a noise floor every comparison on that base applies.")
    ap.add_argument("base", help="a base: kernel-patches/BASE")
    ap.add_argument("--boots", type=int, default=3, help="boots per build (default 3)")
    ap.add_argument("--matrix", default="standard")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--id")
    ap.add_argument("--allow-dirty", action="store_true")
    a = ap.parse_args(argv)
    try:
        if not os.path.isdir(os.path.join(variants.patches(a.base), "aa-build")):
            raise PinlabError(f"no build A/A for base '{a.base}' (kernel-patches/{a.base}/aa-build/ is missing)")
    except PinlabError as e:
        print(f"lab: aa: {e}", file=sys.stderr)
        return 2
    run_argv = ["--variants", f"baseline@{a.base},aa-build@{a.base}", "--matrix", a.matrix, "--deterministic",
                "--boots", str(a.boots), "--first-seed", str(a.first_seed)]
    run_argv += ["--id", a.id] if a.id else []
    run_argv += ["--allow-dirty"] if a.allow_dirty else []
    return main(run_argv)


def main(argv=None):
    a = parse(argv)
    try:
        p = make_plan(a)
    except PinlabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2

    def stop(sig, frame):
        raise Stop(sig)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return run(p)
    except PinlabError as e:
        print(f"lab: error: {e}", file=sys.stderr)
        return 1
