"""Flight modules import only what MicroPython ships (tools/flight_modules.py).

The real tree must be clean, and the scanner must bite: planted files with
imports hidden in function bodies, try blocks, class bodies and relative
imports are each reported with their line.
"""

import shutil
import textwrap
from pathlib import Path

from tools.flight_modules import (
    BOARD_BACKEND, MICROPYTHON_MODULES, check_flight_imports, flight_files, scan_imports,
)

ROOT = Path(__file__).resolve().parent.parent


def _tree(tmp_path, files):
    """Make a project tree under tmp_path: {relative path: source}."""
    for pkg in ("payload", "bus", "hal", "hal/emulated"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text('"""pkg"""\n')
    for rel, src in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(src))
    return tmp_path


def _lines_for(violations, rel):
    return sorted(int(v.split(":")[1].split()[0]) for v in violations if v.startswith(rel + ":"))


def test_real_tree_has_no_violations():
    violations = check_flight_imports(ROOT)
    assert not violations, "flight modules import what MicroPython lacks:\n" + "\n".join(violations)


def test_flight_files_cover_the_flight_packages_only():
    rels = {p.relative_to(ROOT).as_posix() for p in flight_files(ROOT)}
    for must in ("payload/app.py", "payload/scheduler.py", "bus/compat.py", "hal/interface.py",
                 "hal/fake.py", "payload/__init__.py"):
        assert must in rels
    assert not any(r.startswith("hal/emulated/") for r in rels)
    assert all(r.split("/")[0] in ("payload", "bus", "hal") for r in rels)
    assert "sys" in MICROPYTHON_MODULES and "hal/board.py" in BOARD_BACKEND


def test_import_in_try_inside_function_is_found(tmp_path):
    root = _tree(tmp_path, {"payload/numeric.py": """\
        '''doc'''
        X = 1


        def f():
            try:
                import numpy
            except ImportError:
                pass
        """})
    v = check_flight_imports(root)
    assert _lines_for(v, "payload/numeric.py") == [7], v
    assert "numpy, which MicroPython does not ship" in v[0]


def test_from_dataclasses_at_top_is_found(tmp_path):
    root = _tree(tmp_path, {"bus/record.py": """\
        from dataclasses import dataclass
        import struct
        """})
    v = check_flight_imports(root)
    assert v == ["bus/record.py:1 imports dataclasses, which MicroPython does not ship"]


def test_machine_outside_board_backend_is_found(tmp_path):
    root = _tree(tmp_path, {
        "payload/laser.py": "import struct\n\n\nclass Laser:\n    import machine\n",
        "hal/board.py": "import machine\nfrom rp2 import PIO\nfrom hal import interface\n",
    })
    v = check_flight_imports(root)
    assert _lines_for(v, "payload/laser.py") == [5], v
    assert "only the board backend may import" in v[0]
    assert _lines_for(v, "hal/board.py") == []  # the board backend may


def test_desktop_backend_from_flight_code_is_found(tmp_path):
    root = _tree(tmp_path, {
        "payload/runner.py": """\
            import gc
            if gc:
                from hal.emulated import x
            """,
        "hal/emulated/plant.py": "import numpy\nimport socket\n",  # desktop: not checked
        "hal/fake2.py": "from . import emulated\n",
        "hal/fake3.py": "from hal import emulated\n",
        "payload/rel.py": "from . import scheduler\nfrom .scheduler import Scheduler\n",
    })
    v = check_flight_imports(root)
    assert _lines_for(v, "payload/runner.py") == [3], v
    assert _lines_for(v, "hal/fake2.py") == [1], v
    assert _lines_for(v, "hal/fake3.py") == [1], v
    assert not any(x.startswith("hal/emulated/") for x in v), v
    assert _lines_for(v, "payload/rel.py") == []
    assert scan_imports(root / "payload/rel.py") == [(1, "payload.scheduler"), (2, "payload.scheduler")]
    assert scan_imports(root / "hal/fake2.py") == [(1, "hal.emulated")]
    assert all("hal.emulated" in x for x in v)


def test_other_cpython_only_imports_are_found(tmp_path):
    root = _tree(tmp_path, {"bus/misc.py": """\
        from __future__ import annotations
        import os.path
        import hmac, struct
        from .compat import const
        from ..sim import plant
        x = __import__("typing")
        import ustruct
        """})
    v = check_flight_imports(root)
    assert _lines_for(v, "bus/misc.py") == [1, 2, 3, 5, 6, 7], v
    found = scan_imports(root / "bus/misc.py")
    assert (4, "bus.compat") in found and (5, "..sim") in found and (6, "typing") in found, found
    assert "relative import beyond the top-level package" in v[3], v


def test_appending_cpython_import_to_a_real_flight_module_fails(tmp_path):
    """A CPython-only import added anywhere in a flight module fails the suite."""
    for pkg in ("payload", "bus", "hal"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "emulated"))
    assert check_flight_imports(tmp_path) == []
    target = tmp_path / "payload" / "scheduler.py"
    n_lines = len(target.read_text().splitlines())
    with target.open("a") as f:
        f.write("import logging\n")
    v = check_flight_imports(tmp_path)
    assert v == [f"payload/scheduler.py:{n_lines + 1} imports logging, which MicroPython does not ship"]
