"""The one metrics table: every figure pinlab reads, its unit, which way is
better, and which metric is primary for which kind of result set."""
from dataclasses import dataclass

from . import PinlabError


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str          # what the number counts: ns, IOPS, MiB/s, us, %, count
    lower_is_better: bool
    what: str

    @property
    def direction(self):
        return "lower" if self.lower_is_better else "higher"


METRICS = {m.name: m for m in [
    Metric("real_time", "ns", True, "time per pass"),
    Metric("ns_per_page", "ns", True, "ns/page pin"),
    Metric("ns_per_page_put", "ns", True, "ns/page release"),
    Metric("ns_per_call", "ns", True, "ns/call"),
    # a guest under QEMU -icount shift=0: its clock counts instructions
    Metric("insn_per_page", "instructions", True, "instructions/page pin"),
    Metric("insn_per_page_put", "instructions", True, "instructions/page release"),
    Metric("insn_per_call", "instructions", True, "instructions/call"),
    Metric("iops", "IOPS", False, "fio IOPS"),
    Metric("bw_MiBps", "MiB/s", False, "fio bandwidth MiB/s"),
    Metric("clat_p50_us", "us", True, "fio completion latency p50 us"),
    Metric("clat_p99_us", "us", True, "fio completion latency p99 us"),
    Metric("sys_cpu_pct", "%", True, "fio system CPU %"),
    Metric("migrated", "count", True, "pages migrated per pass"),
    Metric("irqs", "count", True, "interrupts taken per pass (/proc/stat intr around it, untimed)"),
]}

# (kind of set, mode) -> its primary metric (what a table, plot or flag shows)
PRIMARY = {("pinbench", "wallclock"): "ns_per_page", ("pinbench", "deterministic"): "insn_per_page",
           ("fio", "wallclock"): "iops", ("fio", "deterministic"): "iops"}

# a deterministic set written before pinbench named its units (--unit) says
# ns_per_*: under -icount those figures are instruction counts
RELABEL = {"ns_per_page": "insn_per_page", "ns_per_page_put": "insn_per_page_put", "ns_per_call": "insn_per_call"}


def get(name):
    try:
        return METRICS[name]
    except KeyError:
        raise PinlabError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None


def primary(kind, mode="wallclock"):
    return PRIMARY[(kind, mode)]


def for_mode(name, mode):
    """The metric of this mode that measures what name measures: ns_per_page
    asked of a deterministic set is its insn_per_page, and back."""
    back = {v: k for k, v in RELABEL.items()}
    if mode == "deterministic":
        return RELABEL.get(name, name)
    return back.get(name, name)


def unit_label(name, mode):
    """How a figure of this metric reads in this mode (time per pass of a
    deterministic set is an instruction count: the guest clock counts them)."""
    m = get(for_mode(name, mode))
    if mode == "deterministic" and m.unit == "ns":
        return "instructions per pass (QEMU -icount)"
    return m.what
