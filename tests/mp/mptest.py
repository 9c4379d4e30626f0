"""Minimal test runner executed inside MicroPython (see mp_run.mjs).

Imports each dotted module name, runs its ``test_*`` functions in name order and
prints one line per test: ``@@MPTEST {"module", "name", "status", "traceback"}``.
A module that fails to import is reported as a failing test named ``<import>``.
"""

import gc
import io
import json
import sys


def _report(module, name, status, tb=""):
    print("@@MPTEST " + json.dumps({"module": module, "name": name, "status": status, "traceback": tb}))


def _traceback(e):
    buf = io.StringIO()
    sys.print_exception(e, buf)
    return buf.getvalue()


def _load(dotted):
    mod = __import__(dotted)
    for part in dotted.split(".")[1:]:
        mod = getattr(mod, part)
    return mod


def main(modules):
    for dotted in modules:
        try:
            mod = _load(dotted)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            _report(dotted, "<import>", "fail", _traceback(e))
            continue
        names = sorted(n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n)))
        for n in names:
            gc.collect()
            try:
                getattr(mod, n)()
            except Exception as e:  # noqa: BLE001
                _report(dotted, n, "fail", _traceback(e))
            else:
                _report(dotted, n, "pass")
    print("@@MPDONE")
