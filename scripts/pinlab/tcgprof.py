"""Where the instructions went: exact per-function counts of each pin loop,
counted by QEMU itself (plugin/pinlab-prof.c, a TCG plugin).

The plugin is built against the qemu-plugin.h of the installed QEMU's own
Debian source version (fetched with a private deb-src list, checked), and
loaded into a profiling boot: a deterministic boot of the same image, seed
and job as a measuring boot, separate from it, so that the plugin cannot
touch a measured figure (and its pinbench figures must equal the measuring
boot's: checked).  The plugin opens a window at the instrumentation's first
clock read of each pass and closes it at the second (the pin loop; the
release loop is the next window); pinbench's --passes-out says whose pass
each pair of windows was.
"""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile

from . import TOP, PinlabError, bases

SOURCE = os.path.join(TOP, "plugin", "pinlab-prof.c")
PACKAGE = "qemu-system-x86"
CALLER = "gup_test_ioctl"   # the instrumentation's bench ioctl (pinlab_gup_bench is inlined into it)
CLOCK = "ktime_get"         # ktime_get_ns() is an inline wrapper of it
TEXT_TYPES = set("tTwW")


def cache_dir():
    return os.path.join(os.environ.get("PINLAB_CACHE", bases.CACHE), "qemu-plugin")


def installed_source_version():
    """The Debian source version the installed QEMU was built from."""
    p = subprocess.run(["dpkg-query", "-W", "-f", "${source:Version}", PACKAGE], capture_output=True, text=True)
    if p.returncode or not p.stdout.strip():
        raise PinlabError(f"profile: {PACKAGE} is not installed (scripts/deps.sh lab)")
    return p.stdout.strip()


def header(version=None):
    """qemu-plugin.h of the installed QEMU's own source package (cached per
    version); a version the archive no longer has, or a header Debian's
    patches change, is one line."""
    version = version or installed_source_version()
    d = os.path.join(cache_dir(), re.sub(r"[^A-Za-z0-9.+~-]", "_", version))
    h = os.path.join(d, "qemu-plugin.h")
    if os.path.exists(h):
        return h, version
    with bases.locked(os.path.join(cache_dir() + ".lock")):
        if os.path.exists(h):
            return h, version
        m = bases.mirrors()
        text = "".join(f"deb-src {m[a]} {s} main\n" for a, s in (
            ("debian", "bookworm"), ("debian", "bookworm-updates"), ("debian-security", "bookworm-security")))
        apt = bases.Apt(cache_dir(), text=text)
        apt.update()
        bases.say(f"profile: fetching Debian's qemu source {version} for its qemu-plugin.h")
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            p = subprocess.run(["apt-get", *apt.opts(), "source", "--download-only", f"qemu={version}"], cwd=tmp,
                               capture_output=True, text=True)
            if p.returncode:
                last = [x for x in (p.stdout + p.stderr).splitlines() if x.startswith("E:")][-1:]
                raise PinlabError(f"profile: the installed QEMU's source qemu={version} cannot be fetched "
                                  f"({' '.join(last) or 'apt-get source failed'}): its plugin header must match it")
            orig = glob.glob(os.path.join(tmp, "qemu_*.orig.tar.*"))
            deb = glob.glob(os.path.join(tmp, "qemu_*.debian.tar.*"))
            if len(orig) != 1 or len(deb) != 1:
                raise PinlabError(f"profile: qemu={version}: expected one orig and one debian tarball")
            with tarfile.open(deb[0]) as t:
                for mem in t.getmembers():
                    if mem.isfile() and mem.name.startswith("debian/patches/"):
                        if b"include/qemu/qemu-plugin.h" in t.extractfile(mem).read():
                            raise PinlabError(f"profile: qemu={version}: Debian's patch {mem.name} changes "
                                              "qemu-plugin.h; the plugin is built against the upstream header only")
            with tarfile.open(orig[0]) as t:
                mem = next((x for x in t.getmembers() if x.name.endswith("/include/qemu/qemu-plugin.h")), None)
                if mem is None:
                    raise PinlabError(f"profile: qemu={version}: no include/qemu/qemu-plugin.h in its source")
                data = t.extractfile(mem).read()
            if not re.search(rb"^#define QEMU_PLUGIN_VERSION \d+$", data, re.M):
                raise PinlabError(f"profile: qemu={version}: qemu-plugin.h has no QEMU_PLUGIN_VERSION")
            os.makedirs(d, exist_ok=True)
            with open(h + ".tmp", "wb") as f:
                f.write(data)
            os.replace(h + ".tmp", h)
    return h, version


def plugin():
    """The built plugin (cached by QEMU source version and plugin source)."""
    h, version = header()
    src = open(SOURCE, "rb").read()
    key = hashlib.sha256(src + open(h, "rb").read()).hexdigest()[:16]
    so = os.path.join(cache_dir(), f"pinlab-prof-{key}.so")
    if os.path.exists(so):
        return so
    tmp = so + f".{os.getpid()}.tmp"
    p = subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I", os.path.dirname(h),
                        "-o", tmp, SOURCE], capture_output=True, text=True)
    if p.returncode:
        raise PinlabError(f"profile: building the plugin against qemu {version}'s header failed: "
                          + " ".join(p.stderr.split())[:400])
    os.replace(tmp, so)
    return so


def symbols(system_map, dest):
    """The image's text symbols as sorted ranges (START END NAME, hex),
    each up to the next symbol; aliases (one address, several names) keep
    the first name.  Returns {name: (start, end)} of every symbol."""
    syms = []
    with open(system_map) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                syms.append((int(parts[0], 16), parts[1], parts[2]))
    syms.sort(key=lambda x: x[0])
    ranges, names = [], {}
    for i, (a, t, n) in enumerate(syms):
        nxt = next((b for b, _, _ in syms[i + 1:] if b > a), None)
        if nxt is None:
            continue
        names.setdefault(n, (a, nxt))
        if t in TEXT_TYPES and (not ranges or ranges[-1][0] != a):
            ranges.append((a, nxt, n))
    with open(dest, "w") as f:
        f.writelines(f"{a:x} {b:x} {n}\n" for a, b, n in ranges)
    return names


def qemu_args(kernel_dir, tmp, out_path):
    """-plugin arguments for a profiling boot of the image in kernel_dir."""
    smap = os.path.join(kernel_dir, "System.map")
    if not os.path.exists(smap):
        raise PinlabError(f"profile: {kernel_dir} has no System.map (rebuild the kernel)")
    sym = os.path.join(tmp, "symbols.txt")
    names = symbols(smap, sym)
    for n in (CALLER, CLOCK):
        if n not in names:
            raise PinlabError(f"profile: {n} is not in {smap}: the instrumentation's marks cannot be found")
    for x in (sym, out_path):
        if "," in x:
            raise PinlabError(f"profile: a comma in {x} (QEMU's -plugin option splits on commas)")
    a, b = names[CALLER]
    return ["-plugin", f"{plugin()},syms={sym},caller={a:x}:{b:x},clock={names[CLOCK][0]:x},out={out_path}"]


# ---- reading a profile -------------------------------------------------------

def read_profile(path):
    """[(total, {function: count})] per window, in order; the plugin's end
    line must be there (a profile cut short is refused)."""
    windows, cur, end = [], None, None
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            if line.startswith("window "):
                _, _, total = line.split()
                cur = {}
                windows.append((int(total), cur))
            elif line.startswith("end "):
                end = line.split()
            else:
                c, name = line.split(None, 1)
                cur[name.strip()] = int(c)
    if end is None or int(end[1]) != len(windows) or "FAILED" in end:
        raise PinlabError(f"{path}: the profile is incomplete (no end line, or the plugin failed)")
    return windows


def read_passes(path):
    """[dict(name, kind, get, put, pages, calls)] in the order they ran."""
    out = []
    with open(path) as f:
        for line in f:
            name, kind, get, put, pages, calls = line.rstrip("\n").split("\t")
            out.append(dict(name=name, kind=kind, get=int(get), put=int(put), pages=int(pages), calls=int(calls)))
    return out


def join(windows, passes):
    """Each (gup_test) pass with its two windows (pin loop, release loop):
    [dict(pass..., pin=(total, counts), release=(total, counts))]."""
    gup = list(passes)
    if len(windows) != 2 * len(gup):
        raise PinlabError(f"profile: {len(windows)} windows for {len(gup)} gup_test passes (two each expected)")
    return [dict(p, pin=windows[2 * i], release=windows[2 * i + 1]) for i, p in enumerate(gup)]


def copy_into(src, dest):
    if os.path.exists(src):
        shutil.copy(src, dest)
