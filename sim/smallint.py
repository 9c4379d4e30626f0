"""Check, on CPython, that flight arithmetic stays inside MicroPython's small-int range.

MicroPython keeps integers below 2**30 in magnitude (on 32-bit ports) in the
object pointer itself; one step beyond and the result becomes a heap-allocated
long int: the fine loop would allocate, and on a port without long ints it would
overflow.  CPython has no such limit, so a lock-step run could hide the problem.

``SmallIntCheck`` traces chosen calls with ``sys.settrace``: at every line and
return of a frame in one of the control loops' modules (``FIXED_POINT_MODULES``;
the slow paths of housekeeping and the services may use long ints, which
MicroPython allows there), every int among the frame's
local variables, and every int attribute of ``self``, is compared with 2**30.
The largest magnitude seen is kept, and a violation raises ``SmallIntError``
naming the function, the variable and the value once the traced call returns.  Products
written inline (``(a * b) >> 8``) are bounded by the clamps the modules'
docstrings derive; their operands are checked here.  Tracing is slow (a few
ms per fine step), so the lock-step runner samples one step in ``every``.
"""

import sys
from pathlib import Path

SMALL_INT_LIMIT = 1 << 30
_PAYLOAD = Path(__file__).resolve().parent.parent / "payload"
# the control loops' fixed point (1 kHz, 100 Hz and 10 Hz); housekeeping, parameters and the
# services may use long ints on their slow paths (u32 masks, CRCs), which MicroPython allows
FIXED_POINT_MODULES = tuple(str(_PAYLOAD / m) for m in (
    "fine_loop.py", "vib_canceller.py", "apt_beam.py", "ephemeris.py", "thermal_loop.py", "pump_laser.py",
    "source_monitor.py", "phase_tune.py", "retarder_loop.py"))


class SmallIntError(AssertionError):
    pass


class SmallIntCheck:
    def __init__(self, roots=FIXED_POINT_MODULES):
        self.roots = tuple(roots)
        self.max_abs = 0
        self.where = ""
        self.lines = 0
        self.violations = []

    def _check_value(self, code, name, v):
        if type(v) is int:  # bool excluded
            a = v if v >= 0 else -v
            if a > self.max_abs:
                self.max_abs = a
                self.where = f"{code.co_name}:{name}"
            if a >= SMALL_INT_LIMIT and len(self.violations) < 20:
                # recorded, raised once the call returns: raised here, the flight code's own
                # exception guards (a telecommand handler's) would swallow it
                self.violations.append(f"{code.co_filename.rsplit('/', 1)[-1]} {code.co_name}: {name} = {v} "
                                       f"is not a MicroPython small int (|x| >= 2**30)")

    def _local(self, frame, event, arg):
        if event in ("line", "return"):
            self.lines += 1
            code = frame.f_code
            for name, v in frame.f_locals.items():
                if name == "self":
                    for attr, av in getattr(v, "__dict__", {}).items():
                        self._check_value(code, "self." + attr, av)
                else:
                    self._check_value(code, name, v)
            if event == "return":
                self._check_value(code, "<return>", arg)
        return self._local

    def _global(self, frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(self.roots):
            return self._local
        return None

    def call(self, fn, *args):
        """``fn(*args)`` with every payload frame it runs checked."""
        old = sys.gettrace()
        sys.settrace(self._global)
        try:
            out = fn(*args)
        finally:
            sys.settrace(old)
        if self.violations:
            raise SmallIntError(self.violations[0])
        return out
