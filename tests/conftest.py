"""pytest plugin: runs tests/flight/ on MicroPython as well as on CPython.

Every ``test_*`` function of a module under tests/flight/ is collected twice: as
an ordinary CPython test, and as ``name[micropython]``, whose result comes from
running the module on the official MicroPython WebAssembly port under Node.js
(tests/mp/mp_run.mjs).  A failing MicroPython test fails pytest with the
MicroPython traceback.  The session ends with a count of the tests that ran on
MicroPython, per flight package.
"""

import ast
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import settings

# Tests never assert wall-clock time: no per-example deadline (a loaded CI machine
# must not turn a slow example into a failure).
settings.register_profile("qsat", deadline=None)
settings.load_profile("qsat")

ROOT = Path(__file__).resolve().parent.parent
FLIGHT_TESTS = ROOT / "tests" / "flight"
MP_RUNNER = ROOT / "tests" / "mp" / "mp_run.mjs"
MP_PACKAGE = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
MP_TIMEOUT_S = 600

_results: dict[str, dict] = {}  # module -> {test name: record}
_ran_on_mp: Counter = Counter()  # flight package -> tests executed on MicroPython


class MicroPythonMissing(Exception):
    pass


def micropython_available() -> str | None:
    """None when Node.js and the pinned MicroPython port are present, else why not."""
    if shutil.which("node") is None:
        return ("Node.js not found: install Node.js >= 18 (e.g. 'apt-get install nodejs npm') "
                "and run tools/setup.sh")
    if not (MP_PACKAGE / "micropython.mjs").exists():
        return ("MicroPython WebAssembly port missing: run tools/setup.sh "
                "(it runs 'npm ci' against package-lock.json)")
    return None


def run_on_micropython(modules: list[str], timeout_s: float = MP_TIMEOUT_S,
                       extra_dir: Path | None = None) -> tuple[list[dict], str]:
    """Run dotted test modules on MicroPython; return (records, raw stdout+stderr).

    ``extra_dir`` is mounted first on MicroPython's sys.path (the harness's own tests).
    """
    why = micropython_available()
    if why:
        raise MicroPythonMissing(why)
    env = dict(os.environ, MP_EXTRA=str(extra_dir)) if extra_dir else None
    proc = subprocess.run(["node", str(MP_RUNNER), str(ROOT), *modules], capture_output=True,
                          text=True, timeout=timeout_s, cwd=ROOT, env=env)
    records = [json.loads(line[len("@@MPTEST "):]) for line in proc.stdout.splitlines()
               if line.startswith("@@MPTEST ")]
    raw = proc.stdout + proc.stderr
    if "@@MPDONE" not in proc.stdout:
        raise RuntimeError(f"MicroPython run of {modules} did not finish (exit {proc.returncode}):\n{raw[-4000:]}")
    return records, raw


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


class MicroPythonModule(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text(), str(self.path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield MicroPythonItem.from_parent(self, name=f"{node.name}[micropython]", test_name=node.name)


class MicroPythonItem(pytest.Item):
    def __init__(self, *, test_name, **kw):
        super().__init__(**kw)
        self.test_name = test_name
        self.module = _module_name(self.path)

    def runtest(self):
        if self.module not in _results:
            try:
                records, raw = run_on_micropython([self.module])
            except MicroPythonMissing as e:
                _results[self.module] = {"<fatal>": {"traceback": str(e)}}
            else:
                _results[self.module] = {r["name"]: r for r in records}
                if not records:
                    _results[self.module]["<fatal>"] = {"traceback": raw[-4000:]}
        res = _results[self.module]
        if "<import>" in res:
            raise MicroPythonFailure(f"module failed to import on MicroPython:\n{res['<import>']['traceback']}")
        if "<fatal>" in res:
            raise MicroPythonFailure(res["<fatal>"]["traceback"])
        rec = res.get(self.test_name)
        if rec is None:
            raise MicroPythonFailure(f"{self.test_name} did not run on MicroPython")
        _ran_on_mp[self.path.relative_to(FLIGHT_TESTS).parts[0]] += 1
        if rec["status"] != "pass":
            raise MicroPythonFailure(rec["traceback"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"on MicroPython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"{self.module}::{self.name}"


class MicroPythonFailure(Exception):
    pass


def pytest_collect_file(parent, file_path):
    if (file_path.suffix == ".py" and file_path.name.startswith("test_")
            and FLIGHT_TESTS in file_path.parents):
        return MicroPythonModule.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="measures MicroPython's heap: runs on MicroPython only")
    for item in items:
        if (not isinstance(item, MicroPythonItem) and FLIGHT_TESTS in Path(item.path).parents
                and item.name.startswith("test_mp_")):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    total = sum(_ran_on_mp.values())
    packages = sorted({"bus", "hal", "payload"} | set(_ran_on_mp))
    per = ", ".join(f"{k}: {_ran_on_mp[k]}" for k in packages)
    terminalreporter.write_line(f"MicroPython tests executed: {total} ({per})")
