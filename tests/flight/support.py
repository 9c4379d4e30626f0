"""Helpers for the flight tests, which run on MicroPython and on CPython.

Tests in tests/flight/ are plain functions with ``assert``: pytest collects them
on CPython and tests/mp/mptest.py runs the same functions on MicroPython.
Functions named ``test_mp_*`` measure MicroPython itself (its heap) and are
skipped on CPython.
"""

import gc
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"


def raises(exc_type, fn, *args):
    """Call ``fn(*args)``, assert it raises ``exc_type``; return the exception."""
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %r" % (exc_type.__name__, fn))


def garbage_bytes(fn, steps):
    """Heap bytes allocated by ``steps`` calls of ``fn`` on MicroPython.

    ``micropython.heap_lock()`` hangs the WebAssembly port when a function is
    called while locked, so this disables the collector and compares
    ``gc.mem_alloc()`` before and after, which counts every allocation.
    """
    if not IS_MICROPYTHON:
        raise RuntimeError("garbage_bytes measures the MicroPython heap")
    fn()  # first call may create lazily-built state; not the steady state
    gc.collect()
    gc.disable()
    try:
        i = 0
        before = gc.mem_alloc()
        while i < steps:
            fn()
            i += 1
        after = gc.mem_alloc()
    finally:
        gc.enable()
    return after - before


def fakes_path():
    """Directory holding the fake ``machine`` module, for either interpreter."""
    if IS_MICROPYTHON:
        return "/repo/tests/mp/fakes"
    import os  # noqa: PLC0415 - CPython branch

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mp", "fakes")
