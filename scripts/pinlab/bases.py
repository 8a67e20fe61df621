"""The lab's kernel bases, owned by the lab, not by the system's packages.

Each base (kernel-patches/BASE/BASE) pins a Debian source package by exact
version and by the sha256 of the tarball it holds; its distribution config
is committed beside it.  The lab fetches the source package itself, from
whichever Debian suite still has that version, through a private apt
sources list under the cache (CACHE/apt: its own lists, no system state
read or written but the keyring), verifies it, and keeps it in
CACHE/bases/PACKAGE_VERSION/.  Nothing `apt-get upgrade` does can move it.

When the pinned version is gone from every suite, the newest version of the
same series (the same package: linux-source-6.1) is used, with one line
before the build that says pinned, used and why; the version actually
built is what kernel.txt, run.json and the report name.

    python3 -m pinlab bases [list] [--offline]        each base: pinned, available, cached
    python3 -m pinlab bases fetch BASE [--shell]      fetch/verify; prints the tarball
    python3 -m pinlab bases download PKG=VERSION DIR  any package of the suites (adding a base)

A download goes into CACHE/bases/.tmp-* and becomes a base only after its
sha256 checks, by one rename: a failed or killed download leaves nothing
that reads as complete, and the next fetch starts it again.
"""
import argparse
import contextlib
import fcntl
import functools
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

from . import PinlabError, variants

CACHE = os.environ.get("PINLAB_CACHE", "/var/cache/pinlab")
# the suites searched, in this order (a version found in several is fetched
# from the first); PINLAB_APT_SOURCES (a sources.list file) replaces them all
SUITES = [("debian", s) for s in ("bookworm", "bookworm-updates", "bookworm-backports",
                                  "trixie", "trixie-updates", "trixie-backports", "sid")] + \
         [("debian-security", s) for s in ("bookworm-security", "trixie-security")]
LISTS_MAX_AGE = 6 * 3600  # the private lists are refreshed when older, or when a version is missing
VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~-]*$")   # a Debian version without epoch
SHA = re.compile(r"^[0-9a-f]{64}$")
FIELDS = ("PACKAGE", "VERSION", "SHA256", "CONFIG_PACKAGE", "CONFIG_VERSION", "CONFIG", "CONFIG_SHA256")


class FetchError(PinlabError):
    """The archive does not give what the pin asks for (exit 1; bad input is exit 2)."""


def say(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


# ---- the pins ---------------------------------------------------------------

def pins(b):
    """kernel-patches/B/BASE, checked: every field there and well formed.
    One line of error for a malformed version or sha256."""
    d = variants.patches(b)
    p = variants.base(b)
    where = os.path.join("kernel-patches", b, "BASE")
    for k in FIELDS:
        if not p.get(k):
            raise PinlabError(f"{where}: {k} missing")
    for k in ("VERSION", "CONFIG_VERSION"):
        if not VERSION.match(p[k]):
            raise PinlabError(f"{where}: {k}={p[k]!r} is not a Debian version")
    for k in ("SHA256", "CONFIG_SHA256") + (("DEB_SHA256",) if p.get("DEB_SHA256") else ()):
        if not SHA.match(p[k]):
            raise PinlabError(f"{where}: {k}={p[k]!r} is not a sha256 (64 hex digits)")
    if not re.match(r"^linux-source-[0-9][0-9.]*$", p["PACKAGE"]):
        raise PinlabError(f"{where}: PACKAGE={p['PACKAGE']!r} is not a linux-source-X.Y package")
    if "/" in p["CONFIG"]:
        raise PinlabError(f"{where}: CONFIG={p['CONFIG']!r}: a file name beside BASE")
    p["DISTRO_CONFIG"] = os.path.join(d, p["CONFIG"])
    p["BASE"] = b
    return p


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_config(p):
    """The committed distribution config, checked against its pin."""
    path = p["DISTRO_CONFIG"]
    if not os.path.isfile(path):
        raise PinlabError(f"{path} missing (committed with its base)")
    got = sha256(path)
    if got != p["CONFIG_SHA256"]:
        raise PinlabError(f"{path} has sha256 {got}, pinned {p['CONFIG_SHA256']} "
                          f"({p['CONFIG_PACKAGE']} {p['CONFIG_VERSION']})")
    return path


# ---- the private apt ---------------------------------------------------------

def mirrors():
    """{'debian': URI, 'debian-security': URI} as the system's own apt
    sources name them (so the lab goes where the machine's apt goes)."""
    found = {}
    files = glob.glob("/etc/apt/sources.list") + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for f in files:
        try:
            text = open(f).read()
        except OSError:
            continue
        uris = re.findall(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M)
        uris += [u for line in re.findall(r"^URIs:\s*(.*)$", text, re.M) for u in line.split()]
        for u in uris:
            u = u.rstrip("/")
            name = u.rsplit("/", 1)[-1]
            if name in ("debian", "debian-security") and name not in found:
                found[name] = u
    if "debian" not in found:
        raise PinlabError("no Debian archive in the system's apt sources (/etc/apt): set PINLAB_APT_SOURCES "
                          "to a sources.list")
    found.setdefault("debian-security", found["debian"] + "-security")
    return found


def sources_text():
    env = os.environ.get("PINLAB_APT_SOURCES")
    if env:
        try:
            return open(env).read()
        except OSError as e:
            raise PinlabError(f"PINLAB_APT_SOURCES={env}: {e.strerror}") from None
    m = mirrors()
    return "".join(f"deb {m[arch]} {suite} main\n" for arch, suite in SUITES)


class Apt:
    """apt-get/apt-cache on the private sources list and lists under
    CACHE/apt; the system's sources, lists and archives are not used."""

    def __init__(self, cache=None, text=None):
        self.dir = os.path.join(cache or CACHE, "apt")
        self.sources = os.path.join(self.dir, "sources.list")
        self.lists = os.path.join(self.dir, "lists")
        os.makedirs(os.path.join(self.lists, "partial"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "archives", "partial"), exist_ok=True)
        text = text or sources_text()
        old = open(self.sources).read() if os.path.exists(self.sources) else None
        if old != text:
            with open(self.sources + ".tmp", "w") as f:
                f.write(text)
            os.replace(self.sources + ".tmp", self.sources)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.stamp)

    @property
    def stamp(self):
        return os.path.join(self.dir, "updated")

    def opts(self):
        return ["-o", f"Dir::Etc::sourcelist={self.sources}", "-o", "Dir::Etc::sourceparts=/dev/null",
                "-o", f"Dir::State::Lists={self.lists}", "-o", f"Dir::Cache={self.dir}",
                "-o", f"Dir::Cache::archives={os.path.join(self.dir, 'archives')}",
                "-o", "APT::Sandbox::User=root", "-q"]

    def update(self, force=False):
        # one update at a time (a listing and a fetch may run together: apt's
        # own lock would fail the second); one that waited for another's
        # update uses it
        asked = time.time()
        with locked(os.path.join(self.dir, "update.lock")):
            when = os.path.getmtime(self.stamp) if os.path.exists(self.stamp) else None
            if when is not None and (when >= asked or (not force and time.time() - when < LISTS_MAX_AGE)):
                return
            self._update()

    def _update(self):
        say("reading the Debian suites' package lists (private apt lists in the cache)")
        p = subprocess.run(["apt-get", *self.opts(), "update"], capture_output=True, text=True)
        errs = list(dict.fromkeys(ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith(("E:", "Err:"))))
        if p.returncode != 0 or errs:
            # a suite that fails to answer is named; the others still count
            for ln in errs[:4]:
                say(f"apt: {ln}")
            if p.returncode != 0 and not glob.glob(os.path.join(self.lists, "*_Packages")):
                raise FetchError("apt-get update on the lab's private sources list failed: no package list "
                                  "(see above)")
        open(self.stamp, "w").close()

    def versions(self, pkg):
        """[(version, suite)] of pkg in the suites, newest first."""
        p = subprocess.run(["apt-cache", *self.opts(), "madison", pkg], capture_output=True, text=True)
        out = []
        for line in p.stdout.splitlines():
            f = [x.strip() for x in line.split("|")]
            if len(f) == 3 and f[0] == pkg and "Sources" not in f[2]:
                where = f[2].split()
                suite = where[1].split("/")[0] if len(where) > 1 else f[2]
                if (f[1], suite) not in out:
                    out.append((f[1], suite))
        return sorted(out, key=functools.cmp_to_key(lambda a, b: vcmp(b[0], a[0])))

    def download(self, spec, into):
        """apt-get download PKG=VERSION into a directory, with progress
        lines (every 10 %) on stderr; returns the .deb's path."""
        r, w = os.pipe()
        cmd = ["apt-get", *self.opts(), "-o", f"APT::Status-Fd={w}", "download", spec]
        p = subprocess.Popen(cmd, cwd=into, pass_fds=(w,), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        os.close(w)
        shown = -10
        with os.fdopen(r) as status:
            for line in status:
                m = re.match(r"^dlstatus:[^:]*:([0-9.]+):", line)
                if m and float(m[1]) >= shown + 10:
                    shown = int(float(m[1]) // 10 * 10)
                    say(f"  {spec}: {shown} %")
        out = p.stdout.read()
        if p.wait() != 0:
            last = [ln for ln in out.splitlines() if ln.startswith(("E:", "Err"))] or out.splitlines()[-1:]
            raise FetchError(f"downloading {spec} failed: {' '.join(last)[:300]}")
        debs = glob.glob(os.path.join(into, "*.deb"))
        if len(debs) != 1:
            raise FetchError(f"downloading {spec}: expected one .deb, found {len(debs)}")
        return debs[0]


def vcmp(a, b):
    """Debian version order (dpkg's own rule)."""
    if a == b:
        return 0
    lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
    return -1 if lt else 1


# ---- fetching a base ---------------------------------------------------------

@contextlib.contextmanager
def locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def bases_dir(cache=None):
    return os.path.join(cache or CACHE, "bases")


def cached(p, version, cache=None):
    """The record of a complete, verified download of version, or None.
    The tarball is hashed again every time (a second or so): a truncated,
    replaced or rewritten file is never taken for the one recorded."""
    d = os.path.join(bases_dir(cache), f"{p['PACKAGE']}_{version}")
    rec_path = os.path.join(d, "complete.json")
    try:
        rec = json.load(open(rec_path))
        tar = os.path.join(d, rec["tarball"])
        if sha256(tar) == rec["sha256"]:
            rec["path"] = tar
            return rec
        say(f"{tar}: its sha256 is no longer the one recorded at download: fetched again")
    except (OSError, ValueError, KeyError):
        if not os.path.isdir(d):
            return None
    shutil.rmtree(d, ignore_errors=True)
    return None


def fetch(b, cache=None, apt=None):
    """The base's source tarball, fetched if needed: a dict with path,
    version (the one used), pinned, suite, sha256, fallback (why another
    version than the pinned one, or '')."""
    p = pins(b)
    with locked(os.path.join(bases_dir(cache), ".lock")):
        # what a killed fetch left behind is removed, never reused
        for t in glob.glob(os.path.join(bases_dir(cache), ".tmp-*")):
            shutil.rmtree(t, ignore_errors=True)
        rec = cached(p, p["VERSION"], cache)
        if rec and rec["sha256"] != p["SHA256"]:
            # the pin changed under the same version: this cache is not it
            shutil.rmtree(os.path.dirname(rec["path"]), ignore_errors=True)
            rec = None
        if rec:
            return dict(rec, pinned=p["VERSION"], fallback="")
        apt = apt or Apt(cache)
        apt.update()
        avail = apt.versions(p["PACKAGE"])
        if p["VERSION"] not in [v for v, _ in avail]:
            apt.update(force=True)
            avail = apt.versions(p["PACKAGE"])
        suites = [s for _, s in avail]
        version, fallback = p["VERSION"], ""
        if version not in [v for v, _ in avail]:
            if not avail:
                raise FetchError(f"base {b}: no version of {p['PACKAGE']} in any suite searched "
                                  f"({' '.join(sorted({s for _, s in SUITES}))})")
            version = avail[0][0]
            fallback = (f"pinned {p['PACKAGE']} {p['VERSION']} is in no suite any more; using {version}, "
                        f"the newest of the series ({avail[0][1]})")
            rec = cached(p, version, cache)
            if rec:
                say(f"base {b}: {fallback}")
                return dict(rec, pinned=p["VERSION"], fallback=fallback)
        suite = suites[[v for v, _ in avail].index(version)]
        if fallback:
            say(f"base {b}: {fallback}")
        return dict(download_base(p, version, suite, cache, apt), pinned=p["VERSION"], fallback=fallback)


def download_base(p, version, suite, cache, apt):
    final = os.path.join(bases_dir(cache), f"{p['PACKAGE']}_{version}")
    tmp = os.path.join(bases_dir(cache), f".tmp-{p['PACKAGE']}_{version}-{os.getpid()}")
    os.makedirs(tmp)
    try:
        say(f"fetching {p['PACKAGE']} {version} from {suite}")
        deb = apt.download(f"{p['PACKAGE']}={version}", tmp)
        deb_sha = sha256(deb)
        if version == p["VERSION"] and p.get("DEB_SHA256") and deb_sha != p["DEB_SHA256"]:
            raise FetchError(f"{os.path.basename(deb)} has sha256 {deb_sha}, pinned {p['DEB_SHA256']}: refused")
        x = os.path.join(tmp, "x")
        subprocess.run(["dpkg-deb", "-x", deb, x], check=True)
        tars = glob.glob(os.path.join(x, "usr", "src", "linux-source-*.tar.xz"))
        if len(tars) != 1:
            raise FetchError(f"{os.path.basename(deb)}: no usr/src/linux-source-*.tar.xz in it")
        name = os.path.basename(tars[0])
        os.rename(tars[0], os.path.join(tmp, name))
        shutil.rmtree(x)
        os.unlink(deb)
        got = sha256(os.path.join(tmp, name))
        if version == p["VERSION"] and got != p["SHA256"]:
            raise FetchError(f"{p['PACKAGE']} {version} from {suite}: {name} has sha256 {got}, pinned "
                              f"{p['SHA256']}: refused, nothing kept")
        rec = dict(package=p["PACKAGE"], version=version, suite=suite, tarball=name, sha256=got,
                   deb_sha256=deb_sha, fetched=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        with open(os.path.join(tmp, "complete.json"), "w") as f:
            json.dump(rec, f, indent=1)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
        say(f"{p['PACKAGE']} {version}: sha256 {got[:16]}… verified, kept in {final}")
        return dict(rec, path=os.path.join(final, name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- listing -------------------------------------------------------------------

def listing(offline=False, cache=None):
    lines = []
    apt = None
    if not offline:
        apt = Apt(cache)
        apt.update()
    for b in variants.bases():
        try:
            p = pins(b)
        except PinlabError as e:
            lines.append(f"{b}: BASE: {e}")
            continue
        try:
            check_config(p)
            cfg = f"{p['CONFIG']} ({p['CONFIG_PACKAGE']} {p['CONFIG_VERSION']}, committed, sha256 ok)"
        except PinlabError as e:
            cfg = f"BAD: {e}"
        have = sorted(os.path.basename(d).split("_", 1)[1] for d in
                      glob.glob(os.path.join(bases_dir(cache), f"{p['PACKAGE']}_*"))
                      if os.path.exists(os.path.join(d, "complete.json")))
        lines.append(f"base {b}: {p['PACKAGE']} {p['VERSION']} pinned (tarball sha256 {p['SHA256'][:16]}…)")
        if apt:
            avail = apt.versions(p["PACKAGE"])
            pinned_where = [s for v, s in avail if v == p["VERSION"]]
            lines.append("  pinned version available: " + (", ".join(pinned_where) if pinned_where else
                                                            "NO (the newest of the series is used, said so)"))
            lines.append("  versions available: " + (", ".join(f"{v} ({s})" for v, s in avail[:6]) or "none")
                         + (f", and {len(avail) - 6} older" if len(avail) > 6 else ""))
        lines.append(f"  config: {cfg}")
        lines.append("  cached: " + (", ".join(have) if have else "nothing (fetched at the first build)"))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(prog="scripts/lab bases", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what")
    ls = sub.add_parser("list", help="each base: pinned version, versions available and where, what is cached")
    ls.add_argument("--offline", action="store_true", help="no apt look-up: pins and cache only")
    f = sub.add_parser("fetch", help="fetch and verify a base's source; prints the tarball's path")
    f.add_argument("base")
    f.add_argument("--shell", action="store_true", help="KEY=VALUE lines for scripts/lab-build.sh")
    d = sub.add_parser("download", help="download one package of the suites (a new base's linux-config-*)")
    d.add_argument("spec", metavar="PKG=VERSION")
    d.add_argument("dir")
    a = ap.parse_args(argv)
    try:
        if a.what in (None, "list"):
            print(listing(getattr(a, "offline", False)))
        elif a.what == "fetch":
            if a.shell:
                # the committed config is checked first: a build needs both
                p = pins(a.base)
                check_config(p)
            rec = fetch(a.base)
            if a.shell:
                out = dict(TARBALL=rec["path"], SHA256=rec["sha256"], VERSION_USED=rec["version"],
                           SUITE=rec["suite"], FALLBACK=rec["fallback"],
                           **{k: p[k] for k in ("PACKAGE", "VERSION", "CONFIG_PACKAGE", "CONFIG_VERSION",
                                                "DISTRO_CONFIG", "CONFIG_SHA256")})
                print("\n".join(f"{k}={shlex.quote(v)}" for k, v in out.items()))
            else:
                print(rec["path"])
        else:
            if "=" not in a.spec:
                raise PinlabError(f"{a.spec}: PKG=VERSION expected")
            os.makedirs(a.dir, exist_ok=True)
            apt = Apt()
            apt.update()
            print(apt.download(a.spec, a.dir))
    except FetchError as e:
        print(f"bases: {e}", file=sys.stderr)
        return 1
    except PinlabError as e:
        print(f"bases: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"bases: {e}", file=sys.stderr)
        return 1
    return 0
