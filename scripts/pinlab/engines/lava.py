"""The LAVA engine: each boot a LAVA job on a `qemu` device (or another
device type whose dictionary offers the qemu boot method), its QEMU
arguments made by plan.qemu_args from lab/vm.toml as the local engine's
are.  The kernel, the boot's initramfs and its transport NVDIMM are served
over HTTP from this run (or --serve-url) with their sha256 in the job; the
other NVDIMMs are empty files QEMU grows.  The guest prints its result
archive framed and checksummed on the console (scripts/guest/init); the
job's log brings it back, and collect verifies it.  A job that ends
Incomplete or Canceled, or whose archive is cut short or does not match,
is a failed boot with LAVA's reason; a boot whose worker goes offline is
cancelled and submitted once more (recorded)."""
import gzip
import sys
import hashlib
import http.server
import os
import re
import shlex
import shutil
import socket
import tarfile
import threading
import time
import urllib.parse
import xmlrpc.client

from .. import PinlabError, collect, plan
from . import STOPPING, say
from .local import StepClock, benchmarks_done, parse_size

POLL = 2.0


class Transport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        c = super().make_connection(host)
        c.timeout = self.timeout
        return c


def read_token(path):
    try:
        text = open(path).read().strip()
    except OSError as e:
        raise PinlabError(f"--token-file {path}: {e.strerror}")
    m = re.fullmatch(r"([^\s:]+)[:\s]+(\S+)", text)
    if not m:
        raise PinlabError(f"--token-file {path}: not USER:TOKEN")
    return m[1], m[2]


class Engine:
    name = "lava"

    def __init__(self, args):
        self.args = args
        self.live = set()
        self.lock = threading.Lock()
        self.states = {}
        self.httpd = None
        self.sha = {}

    # -- the server --------------------------------------------------------
    def proxy(self, timeout=30):
        u = urllib.parse.urlsplit(self.url)
        netloc = f"{urllib.parse.quote(self.user, safe='')}:{urllib.parse.quote(self.token, safe='')}@{u.netloc}"
        return xmlrpc.client.ServerProxy(urllib.parse.urlunsplit((u.scheme, netloc, u.path.rstrip("/") + "/RPC2/",
                                                                   "", "")),
                                         transport=Transport(timeout), allow_none=True)

    def call(self, method, *args, tries=3):
        """One XML-RPC call; a connection error is tried again (a busy
        server), a fault is raised as PinlabError with LAVA's words."""
        for i in range(tries):
            try:
                f = self.proxy()
                for part in method.split("."):
                    f = getattr(f, part)
                return f(*args)
            except xmlrpc.client.Fault as e:
                raise PinlabError(f"LAVA {method}: {e.faultString.strip()}")
            except xmlrpc.client.ProtocolError as e:
                if e.errcode in (401, 403):
                    raise PinlabError(f"LAVA {self.url} does not accept the token of user {self.user} "
                                      f"({e.errcode} {e.errmsg})")
                if i == tries - 1:
                    raise PinlabError(f"LAVA {method}: HTTP {e.errcode} {e.errmsg}")
            except (OSError, xmlrpc.client.ResponseError) as e:
                if i == tries - 1:
                    raise PinlabError(f"LAVA server {self.url} unreachable: {e}")
            time.sleep(1 + i)

    def check(self, p):
        a = self.args
        if not a.server:
            raise PinlabError("--engine lava needs --server URL (and --token-file F)")
        if not a.token_file:
            raise PinlabError("--engine lava needs --token-file F (USER:TOKEN)")
        if p.get("profile"):
            raise PinlabError("--profile runs on the local engine only (the plugin is a file of this host)")
        u = urllib.parse.urlsplit(a.server)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise PinlabError(f"--server {a.server}: not an http(s):// URL")
        self.url = a.server if a.server.endswith("/") else a.server + "/"
        self.user, self.token = read_token(a.token_file)
        self.dt = a.device_type
        self.version = self.call("system.version", tries=1)
        who = self.call("system.whoami", tries=1)
        if who != self.user:
            raise PinlabError(f"LAVA {self.url} does not accept the token of user {self.user} "
                              f"(it sees {who or 'an anonymous user'})")
        types = [t["name"] for t in self.call("scheduler.device_types.list")]
        if self.dt not in types:
            raise PinlabError(f"LAVA {self.url} has no device type '{self.dt}' (it has: {', '.join(types) or 'none'})")
        devs = [d["hostname"] for d in self.call("scheduler.devices.list")
                if d["type"] == self.dt and d["health"] in ("Good", "Unknown")]
        if not devs:
            raise PinlabError(f"LAVA {self.url}: no device of type '{self.dt}' is in health Good or Unknown")
        det = "deterministic" in p["modes"]
        for d in devs:
            self.check_device(d, det)
        self.devices = devs
        # the server's own schema check of a job of this run (its name, context, images)
        err = self.call("scheduler.jobs.validate", self.definition(
            f"{p.get('id', a.id or 'pinlab')} check", ["-smp", "1"], {"kernel": ("http://x/k", "0" * 64, "-kernel {kernel}", None)},
            60), True)
        if err:
            raise PinlabError(f"LAVA {self.url} rejects this run's jobs: {err.get('path', '')}: {err.get('msg', err)}")

    def check_device(self, host, det):
        """The device's rendered dictionary must boot QEMU with nothing of
        its own that the guest sees: no NIC, no -m, and no KVM for a
        deterministic boot."""
        import yaml
        try:
            raw = self.call("scheduler.devices.get_dictionary", host, True)
        except PinlabError:
            return   # not allowed to read it: the job's own validation speaks
        conf = yaml.safe_load(raw.data if hasattr(raw, "data") else raw) or {}
        qemu = ((conf.get("actions") or {}).get("boot") or {}).get("methods", {}).get("qemu")
        if not qemu:
            raise PinlabError(f"LAVA device {host} ({self.dt}) has no qemu boot method: the lab's jobs boot QEMU "
                              "(README: the fleet)")
        opts = " ".join(str(o) for o in (qemu.get("parameters") or {}).get("options") or [])
        bad = [w for w in ("-net ", "-nic ", "-netdev ", "-m ", "-device ", "-nographic ") if w in opts + " "]
        if det and "-enable-kvm" in opts:
            bad.append("-enable-kvm")
        if bad:
            raise PinlabError(f"LAVA device {host} adds {', '.join(x.strip() for x in bad)} to every QEMU: a boot there "
                              "is not the lab's VM (its dictionary must override qemu_options: README, the fleet)")

    def slots(self, p):
        # every deterministic boot is submitted at once: LAVA queues them
        # and hands each to the next free device
        return max(1, min(64, len(p["boots"])))

    def manifest(self):
        return (f"lava {self.url} (LAVA {self.version}, user {self.user}), device type {self.dt}: "
                f"{len(self.devices)} device(s) ({', '.join(self.devices)})")

    # -- serving the images --------------------------------------------
    def start(self, tmp):
        self.serve = os.path.join(tmp, "lava-serve")
        os.makedirs(self.serve, exist_ok=True)
        host = urllib.parse.urlsplit(self.url).hostname
        port = 0
        if self.args.serve_url:
            # the address the workers reach this run's server at (a NAT, a
            # forwarded port): served on that port, on every address
            self.prefix = self.args.serve_url.rstrip("/") + "/"
            bind, port = "0.0.0.0", urllib.parse.urlsplit(self.prefix).port or 80
        else:
            loop = host in ("localhost", "127.0.0.1", "::1")
            bind = "127.0.0.1" if loop else "0.0.0.0"
            if loop:
                addr = "127.0.0.1"
            else:   # the address of this host that reaches the server
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.connect((socket.gethostbyname(host), urllib.parse.urlsplit(self.url).port or 80))
                    addr = s.getsockname()[0]
        serve = self.serve

        class H(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=serve, **k)

            def log_message(self, *a):
                pass
        try:
            self.httpd = http.server.ThreadingHTTPServer((bind, port), H)
        except OSError as e:
            raise PinlabError(f"lava: cannot serve the images on {bind}:{port}: {e.strerror}")
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        if not self.args.serve_url:
            self.prefix = f"http://{addr}:{self.httpd.server_address[1]}/"

    def stop(self):
        self.kill_all()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def kill_all(self):
        with self.lock:
            boots = list(self.live)
        for b in boots:
            b.cancel("the run was stopped")

    def publish(self, path, name):
        """path served as NAME; returns (url, sha256)."""
        dest = os.path.join(self.serve, name)
        if not os.path.exists(dest):
            os.symlink(os.path.abspath(path), dest)
        key = (os.path.abspath(path), os.path.getmtime(path), os.path.getsize(path))
        if key not in self.sha:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            self.sha[key] = h.hexdigest()
        return self.prefix + name, self.sha[key]

    # -- progress ----------------------------------------------------------
    def state(self, label, st):
        with self.lock:
            if self.states.get(label) == st:
                return
            self.states[label] = st
            n = {k: sum(1 for v in self.states.values() if v == k)
                 for k in ("queued", "running", "done", "failed", "resubmitted")}
        say(f"lava: {len(self.states)} boot(s): " + ", ".join(f"{v} {k}" for k, v in n.items() if v or k != "resubmitted"))

    def definition(self, name, extra, images, limit):
        """A LAVA job (YAML): deploy the images to tmpfs, boot QEMU with the
        lab's arguments, watch the console until the guest is done."""
        import yaml
        imgs = {}
        for label, (url, sha, arg, comp) in images.items():
            imgs[label] = {"url": url, "sha256sum": sha, "image_arg": arg}
            if comp:
                imgs[label]["compression"] = comp
        job = {
            "device_type": self.dt,
            "job_name": f"pinlab {name}",
            "priority": "medium",
            "visibility": "public",
            "timeouts": {"job": {"seconds": limit + 600}, "action": {"seconds": limit + 300},
                         "connection": {"seconds": 120}},
            "context": {"arch": "amd64", "extra_options": extra},
            "actions": [
                {"deploy": {"to": "tmpfs", "timeout": {"seconds": 300}, "images": imgs}},
                # the boot action's timeout is also the console's: how long
                # the monitor waits for its next line of interest (a job's
                # commands print none for minutes)
                {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"seconds": limit}}},
                {"test": {"timeout": {"seconds": limit}, "monitors": [{
                    "name": "pinlab", "start": "pinlab-guest: ", "end": "pinlab-guest: done",
                    "pattern": r"pinlab-result: name=(?P<test_case_id>\S+) value=(?P<measurement>[0-9.]+)\s"}]}},
            ],
        }
        return yaml.safe_dump(job, sort_keys=False, width=10000)

    def boot(self, vm, kernel, initrd, jobdir, tmp, mode, accel, limit, extra=(), label=""):
        if extra:
            raise PinlabError("the LAVA engine takes no extra QEMU arguments (a profiling boot runs locally)")
        return LavaBoot(self, vm, kernel, initrd, jobdir, tmp, mode, accel, limit, label)


def lava_time(d):
    """An XML-RPC DateTime of LAVA's as a datetime (None when unset)."""
    import datetime
    try:
        return datetime.datetime.strptime(str(d.value if hasattr(d, "value") else d), "%Y%m%dT%H:%M:%S")
    except (TypeError, ValueError):
        return None


def lava_args(vm, mode, accel):
    """plan.qemu_args for a LAVA job: QEMU's own binary, kernel, initrd and
    NVDIMM files come from the job's images ({kernel}, {initrd}, {nvN});
    the serial console is QEMU's stdio (LAVA reads it)."""
    a = plan.qemu_args(vm, "@K", "@I", "@C", "@NV", mode, accel)[1:]
    extra, nv, i = [], {}, 0
    while i < len(a):
        x, y = a[i], a[i + 1] if i + 1 < len(a) else None
        if x in ("-kernel", "-initrd"):
            i += 2
            continue
        if x == "-serial":
            extra += ["-serial", "stdio"]
        elif x == "-object" and "mem-path=@NV/" in y:
            slot = re.search(r"mem-path=@NV/nv(\d+)", y)[1]
            nv[slot] = [x, y.replace(f"@NV/nv{slot}", f"{{nv{slot}}}")]
        elif x == "-device" and y.startswith("nvdimm,"):
            slot = re.search(r"slot=(\d+)", y)[1]
            nv[slot] += [x, y]
        elif x == "-append":
            extra += ["-append", f'"{y}"']
        else:
            extra += [x, y]
        i += 2
    # QEMU's options in pairs, each a list item (LAVA joins them with spaces)
    items = [f"{extra[j]} {extra[j + 1]}" for j in range(0, len(extra), 2)]
    return items, {s: " ".join(v) for s, v in nv.items()}


class LavaBoot:
    def __init__(self, eng, vm, kernel, initrd, jobdir, tmp, mode, accel, limit, label):
        self.eng, self.vm, self.tmp, self.limit, self.mode, self.label = eng, vm, tmp, limit, mode, label
        os.makedirs(tmp, exist_ok=True)
        self.console = os.path.join(tmp, "console.log")
        items, nvargs = lava_args(vm, mode, accel)
        tag = re.sub(r"[^A-Za-z0-9.-]", "_", label)
        kurl, ksha = eng.publish(os.path.join(kernel, "bzImage"),
                                 f"bzImage-{hashlib.sha256(os.path.abspath(kernel).encode()).hexdigest()[:16]}")
        iurl, isha = eng.publish(initrd, f"initrd-{tag}")
        images = {"kernel": (kurl, ksha, "-kernel {kernel}", None), "initrd": (iurl, isha, "-initrd {initrd}", None)}
        transport = next(d for d in vm["nvdimm"] if d["role"] == "transport")
        empty = os.path.join(eng.serve, "empty")
        if not os.path.exists(empty):
            open(empty + ".tmp", "w").close()
            os.rename(empty + ".tmp", empty)
        for d in vm["nvdimm"]:
            s = str(d["slot"])
            if d is transport:
                # the job, as the local engine writes it, full size (QEMU
                # refuses a backing file shorter than the NVDIMM): gzip'd
                raw = os.path.join(tmp, "transport")
                with tarfile.open(raw, "w", format=tarfile.USTAR_FORMAT) as t:
                    for n in sorted(os.listdir(jobdir)):
                        t.add(os.path.join(jobdir, n), arcname="./" + n)
                os.truncate(raw, parse_size(d["size"]))
                gz = os.path.join(tmp, "transport.gz")
                with open(raw, "rb") as f, gzip.open(gz, "wb", compresslevel=1) as g:
                    shutil.copyfileobj(f, g, 1 << 20)
                os.remove(raw)
                url, sha = eng.publish(gz, f"transport-{tag}.gz")
                images[f"nv{s}"] = (url, sha, nvargs[s], "gz")
            else:
                # empty: QEMU grows it to the NVDIMM's size (zeros, as the
                # local engine's sparse files)
                url, sha = eng.publish(empty, "empty")
                images[f"nv{s}"] = (url, sha, nvargs[s], None)
        self.job = eng.definition(label, items, images, limit)
        self.args = ["qemu-system-x86_64"] + [w for it in items for w in shlex.split(it)]
        self.record = dict(name="lava", server=eng.url, device_type=eng.dt, job=None, device=None, worker=None)
        self.jid = None
        self.lava_said = None   # the job log's last warning or error

    # -- one job ---------------------------------------------------------
    def submit(self):
        jid = self.eng.call("scheduler.jobs.submit", self.job, tries=1)
        jid = str(jid[0] if isinstance(jid, list) else jid)
        with self.eng.lock:
            self.eng.live.add(self)
        self.jid, self.lines, self.done_seen = jid, 0, False
        self.record["job"] = jid
        return jid

    def cancel(self, why):
        if self.jid:
            try:
                self.eng.call("scheduler.jobs.cancel", self.jid, tries=1)
            except PinlabError:
                pass

    def logs(self, out):
        """Append the job's new console lines (its 'target' log) to out."""
        import yaml
        done, data = self.eng.call("scheduler.jobs.logs", self.jid, self.lines)
        raw = data.data if hasattr(data, "data") else data
        entries = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or []
        self.lines += len(entries)
        for e in entries:
            msg = e.get("msg")
            if e.get("lvl") == "target" and isinstance(msg, str):
                out.write(msg.rstrip("\r\n") + "\n")
                self.done_seen |= msg.startswith("pinlab-guest: done")
            elif isinstance(msg, str) and msg.startswith("Boot command: "):
                self.args = shlex.split(msg[len("Boot command: "):])
            elif isinstance(msg, str) and msg.startswith("ok: end string found") and not self.done_seen:
                # the monitor's match consumes its line from LAVA's log: the
                # monitor saw the guest's last line, pinlab-guest: done
                out.write("pinlab-guest: done\n")
            elif e.get("lvl") in ("warning", "error") and isinstance(msg, str):
                self.lava_said = msg.strip()
        out.flush()
        return done

    def follow(self, clock, t0, progress):
        """Until the job ends: (health, comment) or ("lost", worker)
        or ("timeout", None) or ("stopped", None)."""
        started, next_say, last_logs = None, 60, 0
        with open(self.console, "a") as out:
            while True:
                if STOPPING.is_set():
                    self.cancel("stopped")
                    return "stopped", None
                j = self.eng.call("scheduler.jobs.show", self.jid)
                if j.get("device") and not self.record["device"]:
                    self.record["device"] = j["device"]
                    try:
                        self.record["worker"] = self.eng.call("scheduler.devices.show", j["device"])["worker"]
                    except PinlabError:
                        pass
                st = j["state"]
                if st in ("Running", "Scheduled", "Canceling") and self.record["worker"]:
                    w = self.eng.call("scheduler.workers.show", self.record["worker"])
                    if w.get("state") == "Offline":
                        return "lost", self.record["worker"]
                if st == "Running":
                    if started is None:
                        started = time.time()
                        self.eng.state(self.label, "running")
                    if time.time() - last_logs >= 3:
                        self.logs(out)
                        last_logs = time.time()
                        clock.poll()
                    t = time.time() - started
                    if t >= self.limit:
                        self.cancel("timeout")
                        return "timeout", None
                    if progress and t >= next_say:
                        say(f"  ... {next_say} s: {benchmarks_done(self.console)} benchmarks done (LAVA job {self.jid})")
                        next_say += 60
                elif st == "Finished":
                    # LAVA's own clock: waiting for a device, then running
                    t = {k: lava_time(j.get(k)) for k in ("submit_time", "start_time", "end_time")}
                    if all(t.values()):
                        self.record.update(queued_s=round((t["start_time"] - t["submit_time"]).total_seconds()),
                                           running_s=round((t["end_time"] - t["start_time"]).total_seconds()))
                    while not self.logs(out):
                        time.sleep(POLL)
                    self.logs(out)
                    clock.poll()
                    return j["health"], (j.get("failure_comment") or "").strip()
                time.sleep(POLL)

    def run(self, progress=True):
        t0 = time.time()
        if os.path.exists(self.console):
            os.remove(self.console)
        clock = StepClock(self.console, t0)
        failures, timed_out = [], False
        resub = []
        try:
            for attempt in (1, 2):
                try:
                    self.submit()
                except PinlabError as e:
                    failures.append(f"lava: the job was not accepted: {e}")
                    break
                self.eng.state(self.label, "queued")
                what, why = self.follow(clock, t0, progress)
                if what == "lost" and attempt == 1:
                    self.cancel("lost")
                    resub.append(dict(job=self.jid, device=self.record["device"], worker=why,
                                      reason=f"worker {why} went offline"))
                    say(f"[{self.label.split()[-1]}] LAVA job {self.jid}: worker {why} went offline; cancelled, "
                        "submitted again")
                    self.eng.state(self.label, "resubmitted")
                    self.record.update(device=None, worker=None)
                    open(self.console, "w").close()
                    clock = StepClock(self.console, time.time())
                    continue
                if what == "lost":
                    self.cancel("lost")
                    failures.append(f"lava: job {self.jid}: worker {why} went offline (after one resubmission)")
                elif what == "timeout":
                    timed_out = True
                elif what == "stopped":
                    failures.append("lava: the run was stopped")
                elif what != "Complete":
                    failures.append(f"lava: job {self.jid} {what}: {why or 'no reason given'}")
                break
        finally:
            with self.eng.lock:
                self.eng.live.discard(self)
        if resub:
            self.record["resubmitted"] = resub
        out = os.path.join(self.tmp, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        text = open(self.console, errors="surrogateescape").read() if os.path.exists(self.console) else ""
        _, raw, problem = collect.split_console(text)
        if raw is not None:
            try:
                collect.unpack_archive(raw, out)
            except (tarfile.TarError, ValueError, OSError) as e:
                failures.append(f"lava: the result archive does not unpack ({e})")
        elif not timed_out:
            failures.append(f"lava: {problem}" + (f" (LAVA: {self.lava_said})" if self.lava_said else ""))
        self.eng.state(self.label, "failed" if failures or timed_out else "done")
        self.record["seconds"] = round(time.time() - t0)
        return dict(rc=0 if not failures else 1, timed_out=timed_out, limit=self.limit,
                    seconds=round(time.time() - t0), steps=clock.steps(time.time()), failures=failures), out


def job_main(argv=None):
    """scripts/lab lava-job --bare-metal: the bare-metal job template
    (lab/lava/bare-metal-x86.yaml) filled in and printed, or with --check
    validated by a LAVA server (its own schema, strict)."""
    import argparse
    from .. import TOP
    ap = argparse.ArgumentParser(prog="scripts/lab lava-job", description=job_main.__doc__)
    ap.add_argument("--bare-metal", action="store_true", required=True)
    ap.add_argument("--name", default="bare-metal")
    ap.add_argument("--device-type", default="x86")
    ap.add_argument("--kernel", default="http://lab.example/pinlab/bzImage", help="the kernel's URL")
    ap.add_argument("--kernel-sha256", default="0" * 64)
    ap.add_argument("--ramdisk", default="http://lab.example/pinlab/initrd.cpio.gz",
                    help="the initramfs's URL (the lab's, with the job appended as /pinlab-job.tar)")
    ap.add_argument("--ramdisk-sha256", default="0" * 64)
    ap.add_argument("--check", action="store_true", help="have --server validate it")
    ap.add_argument("--server")
    ap.add_argument("--token-file")
    a = ap.parse_args(argv)
    vm = plan.load_vm()
    fields = {"DEVICE_TYPE": a.device_type, "NAME": a.name, "KERNEL_ARGS": vm["kernel"]["cmdline"],
              "KERNEL_URL": a.kernel, "KERNEL_SHA256": a.kernel_sha256, "RAMDISK_URL": a.ramdisk,
              "RAMDISK_SHA256": a.ramdisk_sha256}
    text = open(os.path.join(TOP, "lab", "lava", "bare-metal-x86.yaml")).read()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", v)
    left = re.findall(r"@[A-Z_0-9]+@", text)
    if left:
        print(f"lava-job: the template has fields no option fills: {' '.join(left)}", file=sys.stderr)
        return 2
    if not a.check:
        sys.stdout.write(text)
        return 0
    if not a.server or not a.token_file:
        print("lava-job: --check needs --server and --token-file", file=sys.stderr)
        return 2

    class A:
        server, token_file, device_type, serve_url, id = a.server, a.token_file, a.device_type, None, None
    e = Engine(A)
    try:
        e.url = a.server if a.server.endswith("/") else a.server + "/"
        e.user, e.token = read_token(a.token_file)
        version = e.call("system.version", tries=1)
        err = e.call("scheduler.jobs.validate", text, True)
    except PinlabError as x:
        print(f"lava-job: {x}", file=sys.stderr)
        return 1
    if err:
        print(f"lava-job: LAVA {version} rejects the bare-metal job: {err.get('path', '')}: {err.get('msg', err)}",
              file=sys.stderr)
        return 1
    print(f"valid: LAVA {version} accepts the {a.device_type} job (strict schema; tftp deploy, ipxe boot, "
          "console monitor)")
    return 0
