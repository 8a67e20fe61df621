"""The report's plots: per path, the primary metric against pages per call
and against VMA count, a panel per backing, a line per variant, bars
min..max of the repetitions (SVG, text kept as text)."""
import os
import statistics

from . import env, store
from .names import parse_name


def sweeps(run_dir, sets, metric, unit, mode):
    """One SVG per path and sweep (pages per call, VMA count); returns their names."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "pinlab"
    import matplotlib.pyplot as plt

    data = {}  # (path, sweep) -> backing -> variant -> [(x, med, lo, hi)]
    for variant, ref in sets.items():
        _, reps, _ = store.load_gbench(ref.path, env.mode_of(ref))
        for name, vals in ((n, [x[metric] for x in v if metric in x]) for n, v in reps.items()):
            if not vals:
                continue
            path, backing, p = parse_name(name)
            med, lo, hi = statistics.median(vals), min(vals), max(vals)
            pages = p.get("size_kb", 0) // 4
            if p.get("vmas", 1) == 1 and "ppc" in p:
                x = pages if p["ppc"] == 0 else p["ppc"]
                data.setdefault((path, "ppc"), {}).setdefault(backing, {}).setdefault(variant, []).append((x, med, lo, hi))
            if p.get("ppc") == 0 and "vmas" in p:
                data.setdefault((path, "vmas"), {}).setdefault(backing, {}).setdefault(variant, []).append(
                    (p["vmas"], med, lo, hi))
    os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)
    made = []
    for (path, sweep), by_backing in sorted(data.items()):
        if not any(len(pts) > 1 for v in by_backing.values() for pts in v.values()):
            continue
        backings = sorted(by_backing)
        ncol = min(4, len(backings))
        nrow = (len(backings) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.8 * nrow), squeeze=False)
        for i, backing in enumerate(backings):
            ax = axes[i // ncol][i % ncol]
            for variant, pts in sorted(by_backing[backing].items(), key=lambda kv: (kv[0] != "baseline", kv[0])):
                pts.sort()
                xs = [q[0] for q in pts]
                ys = [q[1] for q in pts]
                err = [[q[1] - q[2] for q in pts], [q[3] - q[1] for q in pts]]
                ax.errorbar(xs, ys, yerr=err, marker="o", ms=3, capsize=2, lw=1, label=variant)
            ax.set_xscale("log")
            ax.set_title(backing, fontsize=9)
            ax.set_xlabel("pages per call" if sweep == "ppc" else "VMAs in the buffer", fontsize=8)
            ax.set_ylabel(unit, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
        for j in range(len(backings), nrow * ncol):
            axes[j // ncol][j % ncol].set_visible(False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", fontsize=7)
        fig.suptitle(f"{path}: {unit} vs {'pages per call (1 VMA)' if sweep == 'ppc' else 'VMA count (whole buffer per call)'}"
                     f" - {mode}; bars: min..max of repetitions", fontsize=9)
        fig.tight_layout(rect=(0, 0, 0.9, 0.95))
        name = f"plots/{sweep}-{path}.svg"
        fig.savefig(os.path.join(run_dir, name), metadata={"Date": None})
        plt.close(fig)
        made.append(name)
    return made


def across(run_dir, old_ref, new_ref, old, new, metric, unit, mode, ppc=512):
    """One SVG: each path x backing's per-page figure on two kernels (the
    old base's baseline, the new one's), a panel per path, a bar pair per
    backing, log scale (the two can be 40x apart); min..max of the boots'
    medians (of one boot's repetitions with a single boot)."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "pinlab"
    import matplotlib.pyplot as plt

    def meds(ref):
        out = {}
        for b in (ref.boots or [ref]):
            _, reps, _ = store.load_gbench(b.path, env.mode_of(b))
            for name, v in reps.items():
                vals = [x[metric] for x in v if metric in x]
                path, backing, p = parse_name(name)
                if vals and p.get("ppc") == ppc and p.get("vmas", 1) == 1 and p.get("write", 1) == 1:
                    out.setdefault((path, backing), []).append(statistics.median(vals))
        return out
    a, b = meds(old_ref), meds(new_ref)
    paths = []
    for path, _ in list(a) + list(b):
        paths += [path] if path not in paths else []
    if not paths:
        return []
    ncol = min(4, len(paths))
    nrow = (len(paths) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    for i, path in enumerate(paths):
        ax = axes[i // ncol][i % ncol]
        order = []
        for _, bk in list(a) + list(b):
            order += [bk] if bk not in order else []
        bks = [bk for bk in order if (path, bk) in a or (path, bk) in b]   # one backing order in every panel
        for k, (d, lab) in enumerate(((a, old), (b, new))):
            xs = [j + (k - 0.5) * 0.38 for j in range(len(bks))]
            ys = [statistics.median(d[(path, bk)]) if (path, bk) in d else 0 for bk in bks]
            lo = [ys[j] - min(d[(path, bk)]) if (path, bk) in d else 0 for j, bk in enumerate(bks)]
            hi = [max(d[(path, bk)]) - ys[j] if (path, bk) in d else 0 for j, bk in enumerate(bks)]
            ax.bar(xs, ys, width=0.38, yerr=[lo, hi], capsize=2, label=lab)
        ax.set_yscale("log")
        ax.set_xticks(range(len(bks)))
        ax.set_xticklabels(bks, rotation=45, ha="right", fontsize=7)
        ax.set_title(path, fontsize=9)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, axis="y", alpha=0.3)
    for j in range(len(paths), nrow * ncol):
        axes[j // ncol][j % ncol].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=7)
    fig.suptitle(f"{old} vs {new}: {unit} at {ppc} pages per call, 1 VMA - {mode}; "
                 "bars: min..max over the boots (missing: refused or not run)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.9, 0.95))
    os.makedirs(os.path.join(run_dir, "plots"), exist_ok=True)
    name = f"plots/across-{mode}.svg"
    fig.savefig(os.path.join(run_dir, name), metadata={"Date": None})
    plt.close(fig)
    return [name]
