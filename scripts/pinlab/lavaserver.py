"""scripts/lab lava-server: a private LAVA (Debian's 2023.01) on 127.0.0.1,
its whole state in one directory: a PostgreSQL cluster of its own, the
server (gunicorn), its event publisher and scheduler, one worker and N
`qemu` devices whose dictionaries boot the lab's VM as the local engine
does (no NIC, no KVM).  Every port is chosen free; nothing under /etc or
/var is written (LAVA's settings come from the environment).

    scripts/lab lava-server --state DIR [--devices 2]

prints `url: ...` and `token-file: ...`, serves until SIGINT/SIGTERM, then
stops every process it started.  SIGUSR1 kills the worker and every
process under it (a lost worker host), SIGUSR2 starts it again.  The tests use Server directly."""
import argparse
import ctypes
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from . import PinlabError

PY = "/usr/bin/python3"   # Debian's: LAVA's django lives there
PGBIN = "/usr/lib/postgresql/15/bin"
DEVICE_TYPE = "qemu"

# A `qemu` device for the lab: the stock template's options block without
# its NIC (-net nic -net user), memory (-m) and -nographic (which turns on
# SeaBIOS's serial console: the firmware then prints, and the kernel boots
# later in guest time): a lab job's own arguments (lab/vm.toml, as the
# local engine's) give the whole machine, so a deterministic boot here is
# the same guest as a local one
DEVICE_DICT = """{% extends 'qemu.jinja2' %}
{% set no_kvm = True %}
{% block qemu_options %}
          - -monitor none
{% if extra_options %}
          extra: {{ extra_options }}
{% endif %}
{% endblock qemu_options %}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeath():
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG


class Server:
    """A private LAVA.  up() stands it up (or raises PinlabError with one
    line saying what is missing); down() stops all of it, on any path."""

    def __init__(self, state, devices=2, say=None):
        self.state, self.ndev = os.path.abspath(state), devices
        self.procs = {}
        self.say = say or (lambda m: print(f"lava-server: {m}", file=sys.stderr, flush=True))
        self.devices = [f"pinlab-qemu-{i + 1:02d}" for i in range(devices)]
        self.worker = "pinlab-worker"

    # -- set-up ---------------------------------------------------------
    def check(self):
        missing = [x for x in (f"{PGBIN}/initdb", f"{PGBIN}/postgres", "/usr/bin/lava-server", "/usr/bin/lava-worker",
                               "/usr/bin/gunicorn3") if not os.access(x, os.X_OK)]
        if missing:
            raise PinlabError("LAVA cannot be stood up here: missing " + ", ".join(missing)
                              + " (scripts/deps.sh lava installs postgresql, lava-server, lava-dispatcher)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PinlabError("LAVA cannot be stood up here: no 'postgres' user (PostgreSQL is not installed)")

    def env(self):
        e = dict(os.environ)
        e["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        e.pop("PYTHONPATH", None)
        e["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{self.pg_port}/lavaserver"
        e["SECRET_KEY"] = self.secret
        e["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
        y = {"MEDIA_ROOT": f"{self.state}/media/", "DEVICES_PATH": f"{self.state}/devices",
             "HEALTH_CHECKS_PATH": f"{self.state}/health-checks", "DISPATCHER_CONFIG_PATH": f"{self.state}/dispatcher.d",
             "DJANGO_LOGFILE": f"{self.state}/log/django.log", "EVENT_NOTIFICATION": "true",
             "INTERNAL_EVENT_SOCKET": f"ipc://{self.state}/events.ipc",
             "EVENT_SOCKET": f"tcp://127.0.0.1:{self.ev_port}", "HTTPS_XML_RPC": "false",
             "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false"}
        for k, v in y.items():
            e[f"LAVA_YAML_SETTINGS_{k}"] = v if v in ("true", "false") else f"'{v}'"
        return e

    def spawn(self, name, argv, user=None):
        log = open(os.path.join(self.state, "log", f"{name}.out"), "ab")

        def pre():
            if user:
                pw = pwd.getpwnam(user)
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
            _pdeath()   # after the uid change, which clears it
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env(),
                             preexec_fn=pre, start_new_session=True, cwd=self.state)
        log.close()
        self.procs[name] = p
        return p

    def manage(self, *args, check=True):
        p = subprocess.run(["/usr/bin/lava-server", "manage", *args], env=self.env(), capture_output=True,
                           text=True, cwd=self.state)
        if check and p.returncode:
            raise PinlabError(f"lava-server manage {' '.join(args)}: exit {p.returncode}: "
                              + " ".join((p.stderr or p.stdout).strip().splitlines()[-1:]))
        return p.stdout

    def wait_for(self, what, ok, limit=60):
        t0 = time.time()
        while time.time() - t0 < limit:
            for n, p in self.procs.items():
                if p.poll() is not None:
                    raise PinlabError(f"LAVA: {n} exited ({p.returncode}) while waiting for {what}; "
                                      f"log: {self.state}/log/{n}.out")
            if ok():
                return
            time.sleep(0.3)
        raise PinlabError(f"LAVA: {what} not ready in {limit} s")

    def up(self):
        self.check()
        t0 = time.time()
        os.makedirs(self.state, exist_ok=True)
        for d in ("log", "media", "devices", "health-checks", "dispatcher.d", "worker"):
            os.makedirs(os.path.join(self.state, d), exist_ok=True)
        self.pg_port, self.ev_port, self.http_port, self.pub_port = (free_port() for _ in range(4))
        self.secret = secrets.token_hex(32)
        pg = os.path.join(self.state, "pg")
        os.makedirs(pg)
        shutil.chown(pg, "postgres", "postgres")
        shutil.chown(os.path.join(self.state, "log"), "postgres", "postgres")
        os.chmod(self.state, 0o755)
        if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", pg]).returncode:
            raise PinlabError(f"LAVA: PostgreSQL (user postgres) cannot reach {pg}: a directory above it is not "
                              "searchable by others (chmod o+x it, or pick another --state)")
        self.say(f"PostgreSQL on 127.0.0.1:{self.pg_port} ({pg})")
        r = subprocess.run(["runuser", "-u", "postgres", "--", f"{PGBIN}/initdb", "-D", pg, "-A", "trust",
                            "-U", "postgres", "-E", "UTF8", "--locale=C"], capture_output=True, text=True)
        if r.returncode:
            raise PinlabError(f"LAVA: initdb failed: {r.stderr.strip().splitlines()[-1:]}")
        self.spawn("postgres", [f"{PGBIN}/postgres", "-D", pg, "-p", str(self.pg_port), "-k", pg,
                                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"], user="postgres")

        def pg_ready():
            return subprocess.run([f"{PGBIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]).returncode == 0
        self.wait_for("PostgreSQL", pg_ready, 30)
        subprocess.run([f"{PGBIN}/../bin/createdb" if os.path.exists(f"{PGBIN}/createdb") else "createdb",
                        "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "lavaserver"], check=True)
        self.say("schema (migrate)")
        self.manage("migrate", "--noinput")
        self.manage("users", "add", "pinlab", "--superuser", "--staff", "--passwd", secrets.token_hex(8))
        self.token = self.manage("tokens", "add", "--user", "pinlab").strip().splitlines()[-1]
        self.token_file = os.path.join(self.state, "token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(f"pinlab:{self.token}\n")
        out = self.manage("workers", "add", self.worker)
        wtoken = re.search(r"Token: (\S+)", out)[1]
        with open(os.path.join(self.state, "worker-token"), "w") as f:
            f.write(wtoken + "\n")
        self.manage("device-types", "add", DEVICE_TYPE)
        for d in self.devices:
            with open(os.path.join(self.state, "devices", f"{d}.jinja2"), "w") as f:
                f.write(DEVICE_DICT)
            self.manage("devices", "add", "--device-type", DEVICE_TYPE, "--worker", self.worker, d)
            self.manage("devices", "update", d, "--health", "GOOD")
        self.url = f"http://127.0.0.1:{self.http_port}/"
        self.say(f"server {self.url} (publisher :{self.pub_port}, events :{self.ev_port})")
        self.spawn("publisher", ["/usr/bin/lava-server", "manage", "lava-publisher", "--host", "127.0.0.1",
                                 "--port", str(self.pub_port), "--user", "root", "--group", "root",
                                 "--log-file", f"{self.state}/log/publisher.log", "--level", "INFO"])
        self.spawn("gunicorn", ["/usr/bin/gunicorn3", "lava_server.wsgi", "--bind", f"127.0.0.1:{self.http_port}",
                                "--workers", "2", "--worker-class", "eventlet", "--timeout", "120",
                                "--log-file", f"{self.state}/log/gunicorn.log"])
        self.spawn("scheduler", ["/usr/bin/lava-server", "manage", "lava-scheduler", "--event-url",
                                 f"tcp://127.0.0.1:{self.ev_port}", "--user", "root", "--group", "root",
                                 "--log-file", f"{self.state}/log/scheduler.log", "--level", "INFO"])

        def http_ok():
            try:
                urllib.request.urlopen(self.url + "api/v0.2/system/version/", timeout=2).read()
                return True
            except OSError:
                return False
        self.wait_for("the server", http_ok, 90)
        self.start_worker()
        self.wait_for("the worker", self.worker_online, 60)
        self.say(f"up in {time.time() - t0:.0f} s: {self.ndev} device(s) of type {DEVICE_TYPE}")
        return self

    def start_worker(self):
        self.spawn("worker", ["/usr/bin/lava-worker", "--name", self.worker, "--url", self.url,
                              "--ws-url", f"http://127.0.0.1:{self.pub_port}/ws/", "--token-file",
                              os.path.join(self.state, "worker-token"), "--worker-dir",
                              os.path.join(self.state, "worker"), "--ping-interval", "2", "--job-log-interval", "2",
                              "--log-file", f"{self.state}/log/worker.log", "--level", "INFO"])

    def stop_worker(self):
        """As a worker host lost: the worker and everything under it (its
        lava-run processes sit in process groups of their own, and QEMU
        under them) die at once."""
        p = self.procs.get("worker")
        if not p:
            return
        for pid in [p.pid] + descendants(p.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        self.procs.pop("worker", None)

    def worker_online(self):
        out = self.manage("workers", "details", self.worker, check=False)
        return "state      : Online" in out

    def kill(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            except ProcessLookupError:
                pass

    def down(self):
        self.stop_worker()   # with its jobs' lava-run and QEMU processes
        for name in ("worker", "scheduler", "gunicorn", "publisher", "postgres"):
            self.kill(name)
        for name in list(self.procs):
            self.kill(name)
        # QEMU of a job the worker left behind (lava-run's children)
        subprocess.run(["pkill", "-KILL", "-f", f"{self.state}/worker/"], capture_output=True)


def descendants(pid):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/lab lava-server", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--state", required=True, help="a new directory for all of its state (removed at the end "
                                                   "unless --keep)")
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)
    if os.path.exists(a.state) and os.listdir(a.state):
        print(f"lava-server: {a.state} exists and is not empty", file=sys.stderr)
        return 2
    if not 1 <= a.devices <= 16:
        print("lava-server: --devices must be 1-16", file=sys.stderr)
        return 2
    s = Server(a.state, a.devices)

    def stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    # a lost worker host and its return, on demand (the tests)
    signal.signal(signal.SIGUSR1, lambda *_: (s.say("worker: killed (SIGUSR1), with its jobs' processes"),
                                              s.stop_worker()))
    signal.signal(signal.SIGUSR2, lambda *_: (s.say("worker: started again (SIGUSR2)"), s.start_worker()))
    try:
        s.up()
        print(f"url: {s.url}\ntoken-file: {s.token_file}\ndevice-type: {DEVICE_TYPE}\ndevices: "
              f"{' '.join(s.devices)}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except PinlabError as e:
        print(f"lava-server: {e}", file=sys.stderr)
        return 1
    finally:
        s.down()
        if not a.keep:
            shutil.rmtree(a.state, ignore_errors=True)
