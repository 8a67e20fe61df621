"""perf output into what a reviewer reads: folded stacks, a flame graph
(SVG, drawn here: no FlameGraph package in Debian 12), the pin paths'
kernel functions as a table, and perf stat's CSV as a table.

  scripts/lab profile fold PERF_SCRIPT_TXT > OUT.folded
  scripts/lab profile flame OUT.folded OUT.svg [--title T]
  scripts/lab profile pinpath OUT.folded [--min 0.1] > OUT.md
  scripts/lab profile stat PERF_STAT_CSV > OUT.md

fold reads `perf script` text (call-graph samples) and writes one line per
distinct stack, root first, frames joined by ';', kernel frames suffixed
"_[k]", then the sample count.  pinpath lists every function of the pin
paths (PIN_FUNCS) seen in the samples, with its inclusive share (samples
with it anywhere on the stack) and self share (samples in it).
"""
import argparse
import hashlib
import html
import re
import sys

PIN_FUNCS = [
    # entries
    "pin_user_pages", "pin_user_pages_fast", "pin_user_pages_remote", "get_user_pages_fast",
    "get_user_pages_remote", "get_user_pages", "get_user_pages_unlocked", "pin_user_pages_unlocked",
    "internal_get_user_pages_fast", "gup_fast_fallback", "gup_fast", "lockless_pages_from_mm",
    # the slow path and its checks
    "__gup_longterm_locked", "__get_user_pages_locked", "__get_user_pages", "__get_user_pages_remote",
    "check_vma_flags", "check_dax_vmas", "vma_is_fsdax", "find_extend_vma", "find_vma", "follow_page_mask",
    "follow_page_pte", "follow_pmd_mask", "follow_p4d_mask", "follow_pud_mask", "follow_huge_pmd",
    "follow_hugetlb_page", "hugetlb_follow_page_mask", "faultin_page", "handle_mm_fault",
    # GUP-fast walk
    "gup_pgd_range", "gup_p4d_range", "gup_pud_range", "gup_pmd_range", "gup_pte_range", "gup_huge_pmd",
    "gup_huge_pud", "gup_huge_pd", "__gup_device_huge", "__gup_device_huge_pmd", "gup_fast_pte_range",
    "gup_fast_pmd_range", "gup_fast_pmd_leaf", "gup_fast_pgd_range",
    # grabbing and releasing references
    "try_grab_folio", "try_grab_page", "try_get_folio", "try_grab_folio_fast", "gup_put_folio",
    "unpin_user_pages", "unpin_user_pages_dirty_lock", "unpin_user_page", "put_page", "folio_put",
    # long-term: migration out of ZONE_MOVABLE/CMA
    "check_and_migrate_movable_pages", "check_and_migrate_movable_folios",
    "collect_longterm_unpinnable_pages", "collect_longterm_unpinnable_folios",
    "migrate_longterm_unpinnable_pages", "migrate_longterm_unpinnable_folios",
    # the vmas array of the 2017-2020 variants
    "kcalloc", "__kmalloc", "__kmalloc_node", "kvmalloc_node", "kfree", "kvfree",
    # callers
    "io_pin_pages", "io_sqe_buffer_register", "io_sqe_buffers_register", "io_release_ubuf",
    "bio_iov_iter_get_pages", "__bio_iov_iter_get_pages", "iov_iter_extract_pages",
    "iov_iter_get_pages2", "iov_iter_get_pages_alloc2", "gup_test_ioctl", "__gup_test_ioctl",
    "pinlab_gup_bench", "process_vm_rw_core", "access_remote_vm", "__access_remote_vm",
]


FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.+?)\s+\((.*)\)$")


def fold(path, out=None):
    """`perf script` text -> folded stacks, one 'a;b;c N' line each, on out
    (a file; default stdout).  Callers in threads pass their own file: the
    lab collects boots in parallel, and a redirected sys.stdout is every
    thread's."""
    out = out or sys.stdout
    counts = {}
    stack, sample = [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if sample and stack:
                    key = ";".join(reversed(stack))
                    counts[key] = counts.get(key, 0) + 1
                stack, sample = [], False
                continue
            if not line.startswith((" ", "\t")):
                sample = True
                stack = []
                continue
            m = FRAME.match(line)
            if not m:
                continue
            sym, dso = m.group(1), m.group(2)
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            if sym == "[unknown]":
                sym = dso if dso.startswith("[") else f"[{dso.rsplit('/', 1)[-1]}]"
            if "kernel.kallsyms" in dso or dso.startswith("[kernel"):
                sym += "_[k]"
            stack.append(sym)
    if sample and stack:
        key = ";".join(reversed(stack))
        counts[key] = counts.get(key, 0) + 1
    for k, v in sorted(counts.items()):
        print(f"{k} {v}", file=out)
    return 0


def describe(path):
    """What a `perf script` text holds, for a reason when it folds to nothing:
    its lines, sample heads and frames, and its first line."""
    lines = heads = frames = 0
    first = None
    with open(path, errors="replace") as f:
        for line in f:
            lines += 1
            if first is None and line.strip():
                first = line.strip()[:120]
            if line.strip() and not line.startswith((" ", "\t")):
                heads += 1
            elif FRAME.match(line.rstrip("\n")):
                frames += 1
    return f"{lines} lines, {heads} sample heads, {frames} frames, first {first!r}"


def read_folded(path):
    out = []
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if stack and n.isdigit():
                out.append((stack.split(";"), int(n)))
    if not out:
        sys.exit(f"profile: {path}: no samples")
    return out


def base_name(frame):
    """The function of a frame: no "_[k]", no compiler suffix (.cold, .isra.0)."""
    name = frame[:-4] if frame.endswith("_[k]") else frame
    return re.sub(r"\.(cold|isra|constprop|part|lto_priv)(\.\d+)*$", "", name)


def color(name):
    h = int(hashlib.md5(name.encode()).hexdigest()[:6], 16)
    if base_name(name) in PIN_FUNCS:
        return f"rgb({60 + h % 40},{110 + h % 60},{200 + h % 55})"  # pin paths: blue
    if name.endswith("_[k]"):
        return f"rgb({220 + h % 35},{110 + h % 80},{40 + h % 40})"  # kernel: orange
    return f"rgb({200 + h % 55},{190 + h % 50},{60 + h % 50})"  # user: yellow


def flame(path, out, title):
    stacks = read_folded(path)
    total = sum(n for _, n in stacks)
    root = {"n": 0, "kids": {}}
    for frames, n in stacks:
        node = root
        node["n"] += n
        for fr in frames:
            node = node["kids"].setdefault(fr, {"n": 0, "kids": {}})
            node["n"] += n
    width, fh, pad = 1200, 16, 34

    def depth(node):
        return 1 + max((depth(k) for k in node["kids"].values()), default=0)

    levels = depth(root)
    height = levels * fh + pad * 2
    rects = []

    def walk(node, name, x, d):
        w = node["n"] / total * (width - 20)
        if name is not None and w >= 0.3:
            y = height - pad - (d + 1) * fh
            pct = node["n"] / total * 100
            label = name if len(name) * 6.5 < w else (name[: int(w / 6.5) - 2] + ".." if w > 25 else "")
            rects.append(f'<g><title>{html.escape(name)} ({node["n"]} samples, {pct:.2f}%)</title>'
                         f'<rect x="{x + 10:.1f}" y="{y}" width="{max(w - 0.5, 0.1):.1f}" height="{fh - 1}" '
                         f'fill="{color(name)}" rx="1"/>'
                         f'<text x="{x + 13:.1f}" y="{y + fh - 4}">{html.escape(label)}</text></g>')
        cx = x
        for kname, kid in sorted(node["kids"].items()):
            walk(kid, kname, cx, d + (0 if name is None else 1))
            cx += kid["n"] / total * (width - 20)

    walk(root, None, 0, -1)
    svg = (f'<?xml version="1.0" standalone="no"?>\n'
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">\n'
           f'<rect width="100%" height="100%" fill="#fdfdf6"/>\n'
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>\n'
           f'<text x="10" y="{height - 6}">{total} samples; blue: pin-path functions, orange: other kernel, '
           f'yellow: user space. Hover for counts.</text>\n' + "\n".join(rects) + "\n</svg>\n")
    with open(out, "w") as f:
        f.write(svg)
    print(f"profile: {out}: {len(rects)} frames, {total} samples", file=sys.stderr)
    return 0


PINPATH_MIN = 0.1   # %: the pin-path table leaves out functions under this share


def pinpath(path, minimum=PINPATH_MIN, out=None):
    out = out or sys.stdout
    stacks = read_folded(path)
    total = sum(n for _, n in stacks)
    incl, self_ = {}, {}
    for frames, n in stacks:
        names = [base_name(f) for f in frames]
        for name in set(names):
            if name in PIN_FUNCS:
                incl[name] = incl.get(name, 0) + n
        if names and names[-1] in PIN_FUNCS:
            self_[names[-1]] = self_.get(names[-1], 0) + n
    print(f"{total} samples. Inclusive: samples with the function anywhere on the stack; "
          "self: samples in the function itself.\n", file=out)
    print("| function | inclusive % | self % | samples |", file=out)
    print("|---|---|---|---|", file=out)
    for name, n in sorted(incl.items(), key=lambda kv: -kv[1]):
        if n / total * 100 >= minimum:
            print(f"| {name} | {n / total * 100:.1f} | {self_.get(name, 0) / total * 100:.1f} | {n} |", file=out)
    if not incl:
        print("| (no pin-path function in the samples) | | | |", file=out)
    return 0


def stat(path):
    print("| event | value | unit | +- (stddev of the repetitions) |")
    print("|---|---|---|---|")
    n = 0
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.rstrip("\n").split(",")
            if len(p) < 4:
                continue
            var = p[3] if p[3].endswith("%") else (p[3] + "%" if p[3] else "-")
            print(f"| {p[2]} | {p[0]} | {p[1]} | {var} |")
            n += 1
    if not n:
        sys.exit(f"profile: {path}: no events")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="scripts/lab profile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("fold")
    s.add_argument("script")
    s = sub.add_parser("flame")
    s.add_argument("folded")
    s.add_argument("out")
    s.add_argument("--title", default="pinlab profile")
    s = sub.add_parser("pinpath")
    s.add_argument("folded")
    s.add_argument("--min", type=float, default=PINPATH_MIN)
    s = sub.add_parser("stat")
    s.add_argument("csv")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "fold":
            return fold(a.script)
        if a.cmd == "flame":
            return flame(a.folded, a.out, a.title)
        if a.cmd == "pinpath":
            return pinpath(a.folded, a.min)
        return stat(a.csv)
    except OSError as e:
        sys.exit(f"profile: {e.filename}: {e.strerror}")

