"""Benchmark names: PROBE/BACKING/size_kb:S/ppc:P/vmas:V/write:W[/manual_time]
(pinbench) and fio.FAMILY/BUFFER/bs:B/rw:RW[/node:N] (fio)."""
import re


def parse_name(name):
    """gup_test.pin_longterm/anon/size_kb:4096/ppc:1/... -> (path, backing, {size_kb, ppc, ...})"""
    parts = re.sub(r"/(manual_time|real_time)$", "", name).split("/")
    params = {}
    for p in parts[2:]:
        k, sep, v = p.partition(":")
        if sep:
            params[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
    return parts[0].replace("gup_test.", ""), parts[1] if len(parts) > 1 else "", params


def short(name):
    """A benchmark name for a table: pin_fast/anon/4M/ppc:512/vmas:1/w1."""
    name = re.sub(r"/(manual_time|real_time)$", "", name)
    name = re.sub(r"/iterations:\d+", "", name)
    name = re.sub(r"size_kb:(\d+)", lambda m: f"{int(m.group(1)) // 1024}M" if int(m.group(1)) % 1024 == 0
                  else f"{m.group(1)}K", name)
    return name.replace("gup_test.", "").replace("/write:", "/w")
