"""Type-check the board backend against MicroPython's own stubs (CPython only).

hal/board.py and its drivers talk to ``machine`` and ``rp2``, which exist only
on the board; the tests run them over fakes (tests/mp/fakes).  Two things keep
the fakes honest:

1. mypy checks the board code against the MicroPython rp2 stubs
   (micropython-rp2-stubs for machine/rp2/time/micropython,
   micropython-stdlib-stubs as the typeshed: MicroPython's builtins and
   stdlib), so a call the real firmware does not have fails here even though
   the fake would accept it;
2. every public class, method, parameter and constant of the fakes must exist
   in those stubs (with the same value where the stub gives one).

The stub packages are not PEP 561 packages and mypy refuses site-packages on
MYPYPATH, so the test links the stub files into a temporary directory.
"""

import ast
import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("hal/board.py", "hal/ads1220.py", "hal/dac8563.py", "hal/as5047p.py", "hal/coincidence_unit.py")
FAKES = ROOT / "tests" / "mp" / "fakes"
SETUP_HINT = ("MicroPython stubs or mypy missing from the venv: run tools/setup.sh "
              "(installs the dev extra: micropython-rp2-stubs, micropython-stdlib-stubs, mypy)")
MYPY_TIMEOUT_S = 300


def _distribution(name: str):
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is None:  # failed outside the except block: a one-line report, no traceback chain
        pytest.fail(SETUP_HINT, pytrace=False)
    return dist


def _dist_dir(name: str) -> tuple[Path, list[str]]:
    """Install directory of a distribution and its top-level entries (no metadata)."""
    dist = _distribution(name)
    tops = sorted({Path(str(f)).parts[0] for f in (dist.files or [])})
    tops = [t for t in tops if not t.endswith((".dist-info", ".egg-info")) and t != "__pycache__"]
    return Path(str(dist.locate_file(""))), tops


@pytest.fixture(scope="module")
def stub_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """(MYPYPATH dir, custom typeshed dir) built from symlinks to the installed stubs."""
    _distribution("mypy")
    base = tmp_path_factory.mktemp("mpstubs")
    mypypath = base / "mypypath"
    typeshed = base / "typeshed"
    mypypath.mkdir()
    typeshed.mkdir()
    rp2_dir, rp2_tops = _dist_dir("micropython-rp2-stubs")
    std_dir, std_tops = _dist_dir("micropython-stdlib-stubs")
    if "machine.pyi" not in rp2_tops or "stdlib" not in std_tops:
        pytest.fail(SETUP_HINT, pytrace=False)
    for top in rp2_tops:  # machine.pyi, rp2/, time.pyi, micropython.pyi, vfs.pyi, ...
        (mypypath / top).symlink_to(rp2_dir / top)
    for top in std_tops:
        if top in ("stdlib", "stubs"):  # MicroPython's builtins and stdlib replace CPython's typeshed
            (typeshed / top).symlink_to(std_dir / top)
        else:  # _mpy_shed/: helper types the stubs import
            (mypypath / top).symlink_to(std_dir / top)
    return mypypath, typeshed


def _mypy(stub_dirs: tuple[Path, Path], files: list[str], cache: Path) -> tuple[list[str], str]:
    """Run mypy on ``files``; return (error lines in those files, full output)."""
    mypypath, typeshed = stub_dirs
    cmd = [sys.executable, "-m", "mypy", "--custom-typeshed-dir", str(typeshed), "--no-site-packages",
           "--follow-imports=silent", "--check-untyped-defs", "--show-error-codes", "--no-error-summary",
           "--no-color-output", "--cache-dir", str(cache), *files]
    env = dict(os.environ, MYPYPATH=str(mypypath))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=MYPY_TIMEOUT_S)
    out = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1):
        pytest.fail(f"mypy could not run (exit {proc.returncode}):\n{out[-4000:]}", pytrace=False)
    # errors inside the stub packages themselves are not ours
    ours = [line for line in out.splitlines() if ": error:" in line and line.startswith(tuple(files))]
    return ours, out


def test_board_backend_type_checks_against_micropython_stubs(stub_dirs, tmp_path):
    errors, out = _mypy(stub_dirs, list(CHECKED), tmp_path / "cache")
    assert not errors, "mypy (MicroPython rp2 stubs) reports:\n" + "\n".join(errors)
    for f in CHECKED:  # mypy really looked at each file (it lists no errors, but parses them)
        assert (ROOT / f).exists()


def test_type_check_catches_a_misused_machine_api(stub_dirs, tmp_path):
    bad = tmp_path / "bad_board_use.py"
    bad.write_text(textwrap.dedent("""\
        import machine
        import time


        def drive():
            pwm = machine.PWM(machine.Pin(2), freq=20000)
            pwm.duty_percent(3)
            machine.Timer(-1).init(mode=machine.Timer.PERIODIC, freq=1000, callbak=None)
            return time.ticks_us() + time.monotonic()
        """))
    errors, out = _mypy(stub_dirs, [str(bad)], tmp_path / "cache")
    text = "\n".join(errors)
    assert "duty_percent" in text, out  # no such method on MicroPython's PWM
    assert ":8:" in text, out  # Timer.init has no 'callbak' keyword
    assert "monotonic" in text, out  # MicroPython's time has no monotonic()


# -- the fakes expose nothing the real modules lack ----------------------------------------


def _params(fn: ast.FunctionDef) -> dict:
    a = fn.args
    pos = [(p.arg, True) for p in a.posonlyargs] + [(p.arg, False) for p in a.args]
    if pos and pos[0][0] in ("self", "cls"):
        pos = pos[1:]
    return {
        "pos": pos,  # (name, positional-only)
        "kw": {name for name, only in pos if not only} | {p.arg for p in a.kwonlyargs},  # passable by name
        "kwonly": {p.arg for p in a.kwonlyargs},
        "varkw": a.kwarg is not None,
    }


def _const_value(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def _api(tree: ast.Module) -> dict:
    """{name: ("func", [params...]) | ("const", value) | ("class", {member: ...})}."""

    def members(body) -> dict:
        out: dict = {}
        for node in body:
            if isinstance(node, ast.FunctionDef):
                entry = out.setdefault(node.name, ("func", []))
                if entry[0] == "func":
                    entry[1].append(_params(node))
            elif isinstance(node, ast.ClassDef):
                out[node.name] = ("class", members(node.body))
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        out[t.id] = ("const", _const_value(node.value))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                out[node.target.id] = ("const", _const_value(node.value) if node.value else None)
        return out

    return members(tree.body)


def _fake_call_fits(fake: dict, stubs: list) -> str:
    """'' when every way of calling the fake's parameters exists in some stub overload.

    MicroPython has no positional-only syntax, so a fake's ordinary parameter
    stands for the stub's positional (or positional-only) one at that place;
    its keyword-only parameters must be keywords of some overload.
    """
    for i, (name, _) in enumerate(fake["pos"]):
        if not any(i < len(s["pos"]) and (s["pos"][i][1] or s["pos"][i][0] == name) for s in stubs):
            return f"positional parameter {i} '{name}'"
    for name in fake["kwonly"]:
        if not any(name in s["kw"] or s["varkw"] for s in stubs):
            return f"keyword '{name}'"
    return ""


def _compare(fake: dict, stub: dict, where: str, skip=()) -> list[str]:
    problems = []
    for name, (kind, value) in fake.items():
        if name in skip or (name.startswith("_") and name not in ("__init__", "__call__")):
            continue
        if name not in stub:
            problems.append(f"{where}{name}: not in the MicroPython stub")
            continue
        skind, svalue = stub[name]
        if kind == "class":
            if skind != "class":
                problems.append(f"{where}{name}: a class in the fake, not in the stub")
            else:
                problems += _compare(value, svalue, f"{where}{name}.")
        elif kind == "func":
            if skind != "func":
                problems.append(f"{where}{name}: a function in the fake, not in the stub")
                continue
            why = _fake_call_fits(value[0], svalue)
            if why:
                problems.append(f"{where}{name}: {why} matches no stub signature")
        elif kind == "const" and skind == "const" and svalue is not None and value is not None:
            if value != svalue:
                problems.append(f"{where}{name} = {value!r}, stub says {svalue!r}")
    return problems


@pytest.mark.parametrize("module, stub_dist, stub_file", [
    ("machine", "micropython-rp2-stubs", "machine.pyi"),
])
def test_fake_modules_expose_only_the_real_api(module, stub_dist, stub_file):
    stub_dir, _ = _dist_dir(stub_dist)
    stub = _api(ast.parse((stub_dir / stub_file).read_text()))
    fake_tree = ast.parse((FAKES / f"{module}.py").read_text())
    fake = _api(fake_tree)
    hooks = fake.get("TEST_HOOKS", ("const", ()))[1] or ()
    problems = _compare(fake, stub, f"{module}.", skip=set(hooks))
    assert not problems, "\n".join(problems)


def test_design_note_pin_table_matches_the_pin_map():
    if str(FAKES) not in sys.path:
        sys.path.insert(0, str(FAKES))
    import hal.board as board  # noqa: PLC0415  (needs the fake machine on CPython)

    used = board.gpios_used()
    aliases = {"spi0": "interrupt bus", "spi1": "foreground bus"}
    rows = {}
    for line in (ROOT / "docs" / "board.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("GP") and cells[0][2:].isdigit():
            rows[int(cells[0][2:])] = cells[2]
    assert sorted(rows) == list(range(48)), "docs/board.md lists every GPIO once"
    for gpio in range(48):
        if gpio not in used:
            assert rows[gpio] == "", f"GP{gpio} is free in PIN_MAP but docs/board.md gives it {rows[gpio]!r}"
            continue
        name = used[gpio]
        assert aliases.get(name, name) in rows[gpio], f"GP{gpio}: PIN_MAP says {name}, docs say {rows[gpio]!r}"
