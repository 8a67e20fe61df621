"""A user's kernel tree (scripts/lab run/review --tree DIR): its version,
the nearest base (whose instrumentation and Debian config it is built
with), its identity, and a read-only snapshot the lab builds out of tree
(the user's tree is never written)."""
import hashlib
import os
import re
import shutil
import subprocess

from . import PinlabError, variants

CACHE = os.environ.get("PINLAB_CACHE", "/var/cache/pinlab")


def version(tree):
    """'6.12.117' of a kernel tree's Makefile; one line of error when it is
    not a kernel tree."""
    mk = os.path.join(tree, "Makefile")
    if not os.path.isdir(tree):
        raise PinlabError(f"--tree {tree}: no such directory")
    try:
        with open(mk) as f:
            head = f.read(4096)
    except OSError:
        raise PinlabError(f"--tree {tree}: not a kernel tree (no Makefile)") from None
    ver = makefile_version(head)
    if not ver or not os.path.isfile(os.path.join(tree, "mm", "gup.c")):
        raise PinlabError(f"--tree {tree}: not a kernel tree (its Makefile has no VERSION/PATCHLEVEL, or no mm/gup.c)")
    return ver


def makefile_version(text):
    """'6.12.117' from a kernel Makefile's head, or None."""
    v = [re.search(rf"^{k}\s*=\s*(\d*)\s*$", text, re.M) for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
    if not (v[0] and v[1] and v[0][1]):
        return None
    return ".".join(x[1] or "0" for x in v if x)


def nearest_base(ver):
    """(base, exact): the base of the same major.minor, else the nearest by
    version."""
    mm = ".".join(ver.split(".")[:2])
    bases = variants.bases()
    if mm in bases:
        return mm, True

    def dist(b):
        x, y = (variants.version_key(b) + [0, 0])[:2], (variants.version_key(mm) + [0, 0])[:2]
        return abs((x[0] - y[0]) * 1000 + (x[1] - y[1]))
    return min(bases, key=dist), False


def git(tree, *args):
    p = subprocess.run(["git", "-C", tree, *args], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def identity(tree, allow_dirty=False):
    """A line naming the tree's content: git describe and commit of a
    checkout (a dirty one refused unless allow_dirty, then with a hash of its
    changes), or the sha256 of every file of a plain directory."""
    top = git(tree, "rev-parse", "--show-toplevel")
    if top and os.path.realpath(top) == os.path.realpath(tree):
        commit = git(tree, "rev-parse", "HEAD")
        desc = git(tree, "describe", "--always", "--tags", "--dirty")
        status = git(tree, "status", "--porcelain", "--untracked-files=normal")
        if status is None or commit is None:
            raise PinlabError(f"--tree {tree}: git cannot read it")
        if status:
            if not allow_dirty:
                raise PinlabError(f"--tree {tree}: the checkout has uncommitted changes ({len(status.splitlines())} "
                                  "paths): commit them, or --allow-dirty (recorded)")
            diff = subprocess.run(["git", "-C", tree, "diff", "HEAD"], capture_output=True).stdout
            return f"git {desc} commit {commit} dirty sha256 {hashlib.sha256(diff + status.encode()).hexdigest()[:16]}"
        return f"git {desc} commit {commit}"
    h = hashlib.sha256()
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            p = os.path.join(root, name)
            rel = os.path.relpath(p, tree)
            h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            if os.path.islink(p):
                h.update(b"L" + os.readlink(p).encode("utf-8", "surrogateescape"))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
    return f"directory sha256 {h.hexdigest()}"


DELTA_MAX = 16 << 20   # a larger difference from the base is built as a tree of its own


def tree_dir(ident):
    """The lab's record of a tree under the cache: CACHE/tree-KEY/ with
    ident, and either delta.patch (the tree is its base's source plus that
    difference) or src/ (a read-only copy), and .done."""
    return os.path.join(CACHE, f"tree-{hashlib.sha256(ident.encode()).hexdigest()[:16]}")


def made(d):
    return os.path.exists(os.path.join(d, ".done"))


def difference(tree, pristine):
    """The tree's difference from the base's source as a patch -p1 applies
    (text files only), or None when it has a binary difference or is larger
    than DELTA_MAX."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="pinlab-delta-") as tmp:
        os.symlink(pristine, os.path.join(tmp, "a"))
        os.symlink(tree, os.path.join(tmp, "b"))
        with open(os.path.join(tmp, "delta"), "wb") as out:
            r = subprocess.run(["diff", "-ruN", "-x", ".git", "a/", "b/"], cwd=tmp, stdout=out,
                               stderr=subprocess.PIPE)
        if r.returncode not in (0, 1):
            return None      # trouble: a binary file, an unreadable one
        if os.path.getsize(os.path.join(tmp, "delta")) > DELTA_MAX:
            return None
        with open(os.path.join(tmp, "delta"), "rb") as f:
            text = f.read()
    if re.search(rb"^Binary files .* differ$", text, re.M) or re.search(rb"^Only in ", text, re.M):
        return None
    return text


def record(tree, ident, base):
    """Make the tree's record once per identity: its difference from the
    base's source where that is small and text (built in the base's own
    work tree: incremental), else a read-only copy (built on its own)."""
    d = tree_dir(ident)
    if made(d):
        return d
    if os.path.exists(os.path.join(tree, ".config")) or os.path.isdir(os.path.join(tree, "include", "config")):
        raise PinlabError(f"--tree {tree}: it has been configured or built in place (.config, include/config): "
                          "the lab builds out of tree; run 'make mrproper' in it or in a copy")
    if os.path.exists(d):
        subprocess.run(["chmod", "-R", "u+w", d], check=False)
        shutil.rmtree(d)
    os.makedirs(d)
    try:
        from .review import pristine
        delta = difference(tree, pristine(base))
        if delta is not None:
            with open(os.path.join(d, "delta.patch"), "wb") as f:
                f.write(delta)
        else:
            src = os.path.join(d, "src")
            r = subprocess.run(["cp", "-a", os.path.join(tree, "."), src], capture_output=True, text=True)
            if r.returncode:
                raise PinlabError(f"--tree {tree}: copying it failed: {r.stderr.strip()[:200]}")
            shutil.rmtree(os.path.join(src, ".git"), ignore_errors=True)
            subprocess.run(["chmod", "-R", "a-w", src], check=True)
        with open(os.path.join(d, "ident"), "w") as f:
            f.write(ident + "\n")
        open(os.path.join(d, ".done"), "w").close()
    except BaseException:
        subprocess.run(["chmod", "-R", "u+w", d], check=False)
        shutil.rmtree(d, ignore_errors=True)
        raise
    return d


def use(d):
    """The environment lab-build.sh reads a tree from."""
    with open(os.path.join(d, "ident")) as f:
        ident = f.read().strip()
    os.environ["PINLAB_TREE_ID"] = ident
    os.environ.pop("PINLAB_TREE", None)
    os.environ.pop("PINLAB_TREE_DELTA", None)
    if os.path.exists(os.path.join(d, "delta.patch")):
        os.environ["PINLAB_TREE_DELTA"] = os.path.join(d, "delta.patch")
    else:
        os.environ["PINLAB_TREE"] = os.path.join(d, "src")
    return ident


def prepare(tree, allow_dirty=False, ident=None):
    """(base, the lab's record of the tree, identity line, version) of a
    user's tree, and the environment the build reads it from; the
    instrumentation of the base must apply to it (one line of error
    otherwise).  A record the lab made (CACHE/tree-*) is its own identity;
    ident: the caller's name for the content (a bisection's commit)."""
    tree = os.path.abspath(tree)
    if made(tree) and os.path.exists(os.path.join(tree, "ident")):
        with open(os.path.join(tree, "ident")) as f:
            ident = f.read().strip()
        m = re.search(r" version (\S+)$", ident)
        ver = m[1] if m else "?"
        base, _ = nearest_base(ver)
        return base, tree, use(tree), ver
    ver = version(tree)
    base, exact = nearest_base(ver)
    # the content's name, not where it lies: the same commit or the same
    # files anywhere share one record, one work tree and the kernels
    ident = f"{ident or identity(tree, allow_dirty)} version {ver}"
    from .review import check_applies
    try:
        check_applies(tree, variants.instrumentation(base), [])   # read from the tree, tried on a scratch copy
    except PinlabError:
        what = f"the {base} instrumentation" if exact else f"no instrumentation for {ver}: the nearest base's ({base})"
        raise PinlabError(f"--tree {tree}: {what} does not apply to it") from None
    d = record(tree, ident, base)
    return base, d, use(d), ver


def sources(d, base):
    """(a source directory, patches to apply to it first) whose result is
    the tree's content: the base's source and the tree's difference, or the
    tree's own copy and nothing."""
    if os.path.exists(os.path.join(d, "delta.patch")):
        from .review import pristine
        with open(os.path.join(d, "delta.patch"), encoding="utf-8", errors="surrogateescape") as f:
            delta = f.read()
        return pristine(base), ([delta] if delta.strip() else [])
    return os.path.join(d, "src"), []
