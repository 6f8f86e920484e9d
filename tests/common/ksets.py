"""ksets.py: run a test once per kernel set of the engine (src/tensor/kset.c), each forced through
SAFEARITH_ISA, as the C tests do.

Which sets this CPU has is read from /proc/cpuinfo's flags, independently of the engine's own
detection: a set the CPU has but the engine refuses fails the test. A set the CPU lacks is printed
as SKIPPED (never passed over silently)."""
import os

SETS = ("avx2", "avx512", "avx512bf16")
NEEDS = {"avx2": {"avx2", "fma", "f16c"},
         "avx512": {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq"},
         "avx512bf16": {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                        "avx512_bf16"}}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def supported():
    """The sets this CPU has, printing a SKIPPED line for each of the others."""
    flags, out = cpu_flags(), []
    for s in SETS:
        if NEEDS[s] <= flags:
            out.append(s)
        else:
            print("SKIPPED kernel set %s: this CPU lacks %s" % (s, " ".join(sorted(NEEDS[s] - flags))))
    return out


class forced:
    """with forced("avx512"): ... runs the engine with SAFEARITH_ISA=avx512 (restored after)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.old = os.environ.get("SAFEARITH_ISA")
        os.environ["SAFEARITH_ISA"] = self.name
        return self

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("SAFEARITH_ISA", None)
        else:
            os.environ["SAFEARITH_ISA"] = self.old
