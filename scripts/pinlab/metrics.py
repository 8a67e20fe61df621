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
    Metric("iops", "IOPS", False, "fio IOPS"),
    Metric("bw_MiBps", "MiB/s", False, "fio bandwidth MiB/s"),
    Metric("clat_p50_us", "us", True, "fio completion latency p50 us"),
    Metric("clat_p99_us", "us", True, "fio completion latency p99 us"),
    Metric("sys_cpu_pct", "%", True, "fio system CPU %"),
    Metric("migrated", "count", True, "pages migrated per pass"),
]}

# kind of set -> its primary metric (what a table, plot or flag shows)
PRIMARY = {"pinbench": "ns_per_page", "fio": "iops"}


def get(name):
    try:
        return METRICS[name]
    except KeyError:
        raise PinlabError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None


def primary(kind):
    return PRIMARY[kind]


def unit_label(name, mode):
    """How a figure of this metric reads in this mode.  Under -icount the
    guest clock counts instructions: a 'ns' figure is an instruction count."""
    m = get(name)
    if mode == "deterministic" and m.unit == "ns":
        # the guest clock ticks once per instruction: 1 'ns' = 1 instruction
        return "icount instructions" + (m.what.split(" ")[0][2:] if m.what.startswith("ns/") else " per pass")
    return m.what
