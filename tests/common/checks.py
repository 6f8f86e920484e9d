"""checks.py: the assertion counter of the Python tests.

check(cond, what) counts a pass or prints "FAIL: what" and counts a failure; done() prints the
closing line "N passed, N failed" and exits non-zero if anything failed. Tests that want their
own counter make a Checker; most use the module-level check/done. rel(a, b) is the relative
error max|a - b| / max|b| of two torch tensors, computed in float64."""
import sys


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, msg):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", msg, file=sys.stderr)

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


_default = Checker()
check = _default.check
done = _default.done


def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())
