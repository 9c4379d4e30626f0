"""Builds and loads the C coincidence kernels (ground_segment/_coincidence.c) with cffi in API mode.

The extension goes to ``build/cffi/`` in the repository (git-ignored), named after a
hash of the C source, its declarations, the compiler flags and the cffi version, so a
changed source gets a new module and a stale one is never loaded.  Each build compiles
in its own temporary directory and moves the result into place with an atomic rename:
two pytest workers building at once both succeed and the last identical file wins.
Modules built from other sources are removed as soon as the current one is found or built.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["CACHE_DIR", "build", "load"]

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().with_name("_coincidence.c")
CACHE_DIR = ROOT / "build" / "cffi"
CFLAGS = ["-O3", "-std=c99"]
CDEF = """
int64_t qs_first_unsorted(const int64_t *t, int64_t n);
int64_t qs_find_coincidences(const int64_t *ta, int64_t na, const int64_t *tb, int64_t nb,
                             int64_t window_ps, int64_t offset_ps, int64_t *ia, int64_t *ib);
void qs_delay_histogram(const int64_t *ta, int64_t na, const int64_t *tb, int64_t nb,
                        int64_t max_delay_ps, int64_t bin_ps, int64_t *counts);
"""


def _module_name(source: str) -> str:
    import cffi

    key = "\0".join([source, CDEF, " ".join(CFLAGS), cffi.__version__])
    return "_coincidence_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def build() -> Path:
    """Path of the compiled extension, compiling it first when missing.

    Raises RuntimeError with a one-line reason when it cannot be built (no compiler).
    """
    try:
        import cffi
    except ImportError as exc:
        raise RuntimeError(f"could not build the coincidence kernel: cffi missing ({_one_line(exc)})") from None
    source = SOURCE.read_text()
    name = _module_name(source)
    target = CACHE_DIR / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
    if target.exists():
        _remove_stale(target)
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=name + ".", dir=CACHE_DIR)
    try:
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        ffi.set_source(name, source, extra_compile_args=CFLAGS)
        built = ffi.compile(tmpdir=tmp, verbose=False)
        os.replace(built, target)
    except Exception as exc:
        raise RuntimeError(f"could not build the coincidence kernel (needs a C compiler: "
                           f"apt-get install gcc): {_one_line(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _remove_stale(target)
    return target


def _remove_stale(target: Path) -> None:
    """Deletes modules built from other sources (a process that loaded one keeps its copy)."""
    for stale in target.parent.glob("_coincidence_*" + importlib.machinery.EXTENSION_SUFFIXES[0]):
        if stale != target:
            stale.unlink(missing_ok=True)


def load():
    """(ffi, lib) of the compiled kernels, building them first when missing."""
    path = build()
    name = path.name.split(".")[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ffi, module.lib
