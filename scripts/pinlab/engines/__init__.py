"""Boot engines: where a lab boot runs, behind one interface (as fio's
engines/ fill one struct ioengine_ops).  plan, build, collect and the
analysis do not change with the engine; a boot record names its engine
(and for LAVA its job, device and worker).

An engine is a class with
  name                      "local", "lava"
  check(p)                  before anything is built: one PinlabError line
                            for what cannot work (an unreachable server, a
                            bad token, a device type the server lacks)
  slots(p)                  deterministic boots it runs at once
  start(tmp) / stop()       what it serves or holds for the run
  boot(vm, kernel, initrd, jobdir, tmp, mode, accel, limit, extra, label)
                            a Boot: .run(progress) -> (result, out_dir),
                            .console (the console log), .args (QEMU's argv),
                            .record (the engine's part of the boot record)
  kill_all()                stop every boot now (a stopped run)
  manifest()                the manifest's engine line

ENGINES is the one registration list."""
import sys
import threading


class Stop(Exception):
    """SIGINT or SIGTERM: stop, take the VM with us; exit 128 + the signal."""

    def __init__(self, sig):
        super().__init__(sig)
        self.sig = sig


STOPPING = threading.Event()


def say(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def names():
    return list(ENGINES)


def make(name, args):
    from importlib import import_module
    return import_module(f".{ENGINES[name]}", __name__).Engine(args)


ENGINES = {"local": "local", "lava": "lava"}
