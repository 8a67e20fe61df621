"""The local engine: QEMU on this host (today's lab).  Each boot gets the
NVDIMM backing files in its own directory, its job on the transport
NVDIMM, the console in a file; QEMU dies with the run (a parent-death
signal) and every VM holds a machine-wide memory slot."""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time

from .. import plan
from . import STOPPING, Stop, say

DETERMINISTIC_NICE = 10


class Engine:
    name = "local"

    def __init__(self, args=None):
        self.args = args

    def check(self, p):
        if not shutil.which("qemu-system-x86_64"):
            from .. import PinlabError
            raise PinlabError("qemu-system-x86_64 missing (scripts/deps.sh lab)")

    def slots(self, p):
        return p["parallel"]

    def start(self, tmp):
        pass

    def stop(self):
        Boot.kill_all()

    def kill_all(self):
        Boot.kill_all()

    def manifest(self):
        return f"local (QEMU on {os.uname().nodename.split('.')[0]})"

    def boot(self, vm, kernel, initrd, jobdir, tmp, mode, accel, limit, extra=(), label=""):
        return Boot(vm, kernel, initrd, jobdir, tmp, mode, accel, limit, extra)


def pdeathsig(sig=signal.SIGKILL):
    """In the child: sig when the parent dies, whatever kills it (SIGKILL too)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG


def vm_slot(guest_bytes, wait=True):
    """A machine-wide slot for one lab VM, held while the returned file stays
    open (closed, or the process gone, it is free again): as many slots as
    the host's memory holds guests of guest_bytes plus QEMU's own and 2 GiB
    for the host, so concurrent runs (any number of them) queue for memory
    instead of meeting the OOM killer.  Waits, saying so once."""
    import fcntl
    with open("/proc/meminfo") as f:
        total = int(next(x for x in f if x.startswith("MemTotal:")).split()[1]) * 1024
    per = guest_bytes + (768 << 20)
    n = max(1, (total - (2 << 30)) // per)
    d = os.path.join(os.environ.get("PINLAB_CACHE", "/var/cache/pinlab"), "vm-slots")
    os.makedirs(d, exist_ok=True)
    said = False
    while True:
        for i in range(n):
            f = open(os.path.join(d, f"slot-{i}"), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f
            except OSError:
                f.close()
        if not wait:
            return None
        if not said:
            say(f"  waiting for memory: all {n} VM slots of this host are taken (another run's VMs)")
            said = True
        if STOPPING.is_set():
            raise Stop(signal.SIGTERM)
        time.sleep(5)


class Boot:
    """One QEMU boot of one job in its own directory tmp; kill_all() is safe
    from a signal handler's unwinding."""
    live = set()
    lock = threading.Lock()

    def __init__(self, vm, kernel, initrd, jobdir, tmp, mode, accel, limit, extra=()):
        os.makedirs(tmp, exist_ok=True)
        self.tmp, self.limit, self.mode = tmp, limit, mode
        nv = os.path.join(tmp, "nv")
        shutil.rmtree(nv, ignore_errors=True)
        os.makedirs(nv)
        self.transport = os.path.join(nv, f"nv{next(d['slot'] for d in vm['nvdimm'] if d['role'] == 'transport')}")
        size = {d["slot"]: d["size"] for d in vm["nvdimm"]}
        for slot, s in size.items():
            with open(os.path.join(nv, f"nv{slot}"), "wb") as f:
                f.truncate(parse_size(s))
        with tarfile.open(self.transport, "w", format=tarfile.USTAR_FORMAT) as t:
            for n in sorted(os.listdir(jobdir)):
                t.add(os.path.join(jobdir, n), arcname="./" + n)
        os.truncate(self.transport, parse_size(size[int(self.transport.rsplit("nv", 1)[1])]))
        self.console = os.path.join(tmp, "console.log")
        if os.path.exists(self.console):
            os.remove(self.console)
        self.args = plan.qemu_args(vm, os.path.join(kernel, "bzImage"), initrd, self.console, nv, mode, accel) \
            + list(extra)
        self.guest_bytes = parse_size(vm["memory"]["size"])
        self.proc = None
        self.record = dict(name="local", host=os.uname().nodename.split(".")[0])

    def preexec(self):
        pdeathsig()
        if self.mode == "deterministic":
            # its figures count instructions, not time: a build (a review's
            # next prefix) goes first; a wall-clock boot never shares the host
            os.nice(DETERMINISTIC_NICE)

    def run(self, progress=True):
        slot = vm_slot(self.guest_bytes)
        try:
            return self._run(progress)
        finally:
            slot.close()

    def _run(self, progress):
        t0 = time.time()
        clock = StepClock(self.console, t0)
        with open(self.console + ".qemu", "w") as err:
            with Boot.lock:
                self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                             preexec_fn=self.preexec, start_new_session=True)
                Boot.live.add(self)
            timed_out, next_say = False, 60
            while self.proc.poll() is None:
                time.sleep(1)
                clock.poll()
                t = time.time() - t0
                if t >= self.limit or STOPPING.is_set():
                    timed_out = not STOPPING.is_set()
                    self.kill()
                    break
                if progress and t >= next_say:
                    say(f"  ... {next_say} s: {benchmarks_done(self.console)} benchmarks done")
                    next_say += 60
            rc = self.proc.wait()
            with Boot.lock:
                Boot.live.discard(self)
            clock.poll()
        with open(self.console, "a") as c, open(self.console + ".qemu") as q:
            c.write(q.read())
        out = os.path.join(self.tmp, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        try:
            with tarfile.open(self.transport) as t:
                t.extractall(out)  # our own guest's archive
        except (tarfile.TarError, OSError):
            pass  # the guest wrote nothing back: the verdict says so
        return dict(rc=rc, timed_out=timed_out, limit=self.limit, seconds=round(time.time() - t0),
                    steps=clock.steps(time.time())), out

    @classmethod
    def kill_all(cls):
        for b in list(cls.live):
            b.kill()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


class StepClock:
    """Host seconds of a boot's stages, from the console as it grows: the
    kernel's boot (QEMU start to the guest's first line), each job command
    (its "pinlab-job: NAME" to "pinlab-job: NAME: exit N"), NVDIMM set-up
    and the rest (between commands, power-off).  Seen at the 1 s poll, so
    each figure is within a second or two."""

    def __init__(self, console, t0):
        self.console, self.t0, self.off, self.marks = console, t0, 0, []

    def poll(self):
        try:
            with open(self.console, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1
        self.off += end
        now = round(time.time() - self.t0, 1)
        for line in data[:end].decode(errors="replace").splitlines():
            if line.startswith(("pinlab-job: ", "pinlab-guest: ")):
                self.marks.append((now, line))

    def steps(self, t_end):
        """[[stage, seconds]] in order; they add up to the boot's seconds."""
        out, last, cur = [], 0.0, "kernel boot"
        for t, line in self.marks:
            m = re.match(r"^pinlab-job: (\S+)(: exit \d+)?$", line)
            if line.startswith("pinlab-guest: ") and " up at " in line:
                nxt = "nvdimm set-up"
            elif m and not m[2] and m[1] not in ("pmem:", "FAILED:"):
                nxt = m[1]
            elif m and m[2]:
                nxt = "between commands"
            else:
                continue
            out.append([cur, round(t - last, 1)])
            last, cur = t, nxt
        out.append([cur if cur != "between commands" else "power-off", round(t_end - self.t0 - last, 1)])
        total = {}
        for k, v in out:   # a stage met twice (between commands) is summed
            total[k] = round(total.get(k, 0) + v, 1)
        return [[k, v] for k, v in total.items()]


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s)
    return int(m[1]) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m[2]]


def benchmarks_done(console):
    """Distinct benchmarks the guest has finished so far (ran or skipped), as the final count."""
    try:
        with open(console, errors="replace") as f:
            names = re.findall(r"^(\S+/manual_time)(?!_)\S*\s", f.read(), re.M)
    except OSError:
        return 0
    return len(set(names))


