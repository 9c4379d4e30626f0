"""``qsat deploy`` (tools/deploy.py): the bundle, the mpremote plan, the board probe.

No board is attached in CI, so mpremote is never really run: calls to
``subprocess.run`` are recorded (and answered) by a fake.  The bundle itself is
checked on the real MicroPython interpreter (WebAssembly port): its .mpy files
must import there and run the payload application, and the board-side install
script must stage, verify and swap a payload on a MicroPython filesystem.
"""

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import micropython_available
from tools import deploy as dp
from tools.flight_modules import BOARD_BACKEND, flight_files

ROOT = Path(__file__).resolve().parent.parent
MP_BUNDLE = ROOT / "tests" / "mp" / "mp_bundle.mjs"
FAKES = ROOT / "tests" / "mp" / "fakes"
MP_TIMEOUT_S = 300
NO_PORT = "/dev/ttyQSAT_NONE"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return dp.build_bundle(ROOT, tmp_path_factory.mktemp("bundle") / "armv6m", "armv6m")


class FakeSubprocess:
    """Stands in for subprocess.run: records every command, answers mpremote."""

    def __init__(self, fail_on=None, returncode=1, stderr="mpremote: failed", timeout_on=None):
        self.calls = []
        self.fail_on = fail_on  # substring of the joined argv that fails
        self.returncode = returncode
        self.stderr = stderr
        self.timeout_on = timeout_on
        self._real = subprocess.run

    def __call__(self, argv, *args, **kw):
        joined = " ".join(map(str, argv))
        if "mpremote" not in joined:
            return self._real(argv, *args, **kw)
        self.calls.append(list(argv))
        if self.timeout_on and self.timeout_on in joined:
            raise subprocess.TimeoutExpired(argv, kw.get("timeout", 0))
        if self.fail_on and self.fail_on in joined:
            return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)
        return subprocess.CompletedProcess(argv, 0, "", "")

    def mpremote_calls(self, word=None):
        """Recorded argv lists (after 'mpremote'), optionally only those with ``word``."""
        out = []
        for argv in self.calls:
            i = next(k for k, a in enumerate(argv) if "mpremote" in a)
            tail = argv[i + 1:]
            if word is None or word in tail:
                out.append(tail)
        return out


def _module_names(bundle):
    names = []
    for f in bundle.files:
        if f.path.endswith(".mpy"):
            parts = f.path[:-4].split("/")
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


# --- the bundle --------------------------------------------------------------------

def test_bundle_holds_every_flight_module_and_nothing_else(bundle):
    on_disk = {p.relative_to(bundle.root).as_posix() for p in bundle.root.rglob("*") if p.is_file()}
    want_mpy = {p.relative_to(ROOT).with_suffix(".mpy").as_posix() for p in flight_files(ROOT)}
    assert want_mpy <= on_disk, f"missing: {sorted(want_mpy - on_disk)}"
    assert on_disk == want_mpy | {"main.py", "manifest.json"}, sorted(on_disk - want_mpy)
    assert {f.path for f in bundle.files} == on_disk
    for banned in ("hal/emulated", "tests", "sim", "ground_segment", "tools", "bench"):
        assert not any(p == banned or p.startswith(banned + "/") for p in on_disk), banned
    assert [p for p in on_disk if p.endswith(".py")] == ["main.py"]
    main_py = (bundle.root / "main.py").read_text()
    assert "from payload.boot import main" in main_py and "\nmain()" in main_py
    compile(main_py, "main.py", "exec")


def test_manifest_matches_the_files(bundle):
    man = json.loads((bundle.root / "manifest.json").read_text())
    assert man["arch"] == "armv6m" and man["mpy_version"] == 6
    assert "v1.27" in man["mpy_cross_version"], man["mpy_cross_version"]
    listed = {e["path"]: e for e in man["files"]}
    assert set(listed) == {f.path for f in bundle.files} - {"manifest.json"}
    import hashlib

    for path, e in listed.items():
        data = (bundle.root / path).read_bytes()
        assert e["size"] == len(data), path
        assert e["sha256"] == hashlib.sha256(data).hexdigest(), path
    for f in bundle.files:  # the Bundle object agrees with the disk too (manifest included)
        assert f.sha256 == hashlib.sha256((bundle.root / f.path).read_bytes()).hexdigest()


def test_mpy_headers_are_version_6(bundle):
    bad = []
    for f in bundle.files:
        if f.path.endswith(".mpy"):
            head = (bundle.root / f.path).read_bytes()[:2]
            if head != b"M\x06":
                bad.append(f"{f.path}: {head!r}")
    assert not bad, bad


def test_bundle_size_is_reported(bundle, capsys):
    with capsys.disabled():
        print(f"\n[bundle armv6m: {len(bundle.files)} files, {bundle.total_bytes} bytes]")
    assert 0 < bundle.total_bytes < 512 * 1024  # far below an RP2040's 1.4 MB filesystem


def test_builds_are_reproducible_and_arch_is_validated(bundle, tmp_path):
    again = dp.build_bundle(ROOT, tmp_path / "again", "armv6m")
    assert {f.path: f.sha256 for f in again.files} == {f.path: f.sha256 for f in bundle.files}
    rp2350 = dp.build_bundle(ROOT, tmp_path / "rp2350", "armv7emsp")
    assert json.loads((rp2350.root / "manifest.json").read_text())["arch"] == "armv7emsp"
    with pytest.raises(dp.DeployError, match="unknown arch 'x86'"):
        dp.build_bundle(ROOT, tmp_path / "x86", "x86")


def test_build_refuses_to_wipe_a_directory_that_is_not_a_bundle(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(dp.DeployError, match="refusing to overwrite"):
        dp.build_bundle(ROOT, tmp_path, "armv6m")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


# --- the mpremote plan and the probe ---------------------------------------------------

def _parser():
    p = argparse.ArgumentParser(prog="qsat")
    sub = p.add_subparsers(dest="command")
    dp.add_parser(sub)
    return p


def test_dry_run_prints_mpremote_commands_for_every_file(tmp_path, capsys, monkeypatch):
    fake = FakeSubprocess()
    monkeypatch.setattr(subprocess, "run", fake)
    port = "/dev/ttyACM7"
    args = _parser().parse_args(["deploy", "--port", port, "--dry-run", "--out", str(tmp_path / "b")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert fake.calls == [], "a dry run must not run mpremote"
    cmd_lines = [ln for ln in out.splitlines() if ln.startswith("mpremote ")]
    assert cmd_lines and all(ln.startswith(f"mpremote connect {port} ") for ln in cmd_lines)
    b = tmp_path / "b"
    files = [p.relative_to(b).as_posix() for p in sorted(b.rglob("*")) if p.is_file()]
    for rel in files:
        assert f"fs cp {b / rel} :{dp.STAGING_DIR}/{rel}" in out, rel
    for d in ("payload", "bus", "hal"):
        assert f"fs mkdir :{dp.STAGING_DIR}/{d}" in out
    assert cmd_lines[-1] == f"mpremote connect {port} reset"
    assert "exec" in cmd_lines[-2]  # the swap is one exec, just before the reset


def test_plan_stages_then_swaps_in_one_exec(bundle):
    cmds = dp.mpremote_commands(bundle, "/dev/ttyACM0")
    assert all(c[:3] == ["mpremote", "connect", "/dev/ttyACM0"] for c in cmds)
    verbs = [c[3] for c in cmds]
    assert verbs[0] == "exec" and verbs[-2] == "exec" and verbs[-1] == "reset"
    assert verbs.count("exec") == 2
    for c in cmds[1:-2]:
        assert c[3] == "fs" and c[4] in ("mkdir", "cp")
        assert c[-1].startswith(":" + dp.STAGING_DIR), c  # nothing copied outside staging
    assert sorted(c[5] for c in cmds if c[3:5] == ["fs", "cp"]) == sorted(
        str(bundle.root / f.path) for f in bundle.files)


def test_deploy_to_missing_port_fails_before_copying(tmp_path, monkeypatch, capsys):
    fake = FakeSubprocess()
    monkeypatch.setattr(subprocess, "run", fake)
    with pytest.raises(dp.DeployError, match=f"^no board on {NO_PORT}: ") as ei:
        dp.deploy(NO_PORT, "armv6m", dry_run=False, out_dir=tmp_path / "b")
    assert "\n" not in str(ei.value)
    assert fake.mpremote_calls() == [], "nothing may be sent when the port does not exist"
    # the same through the command line: one line on stderr, exit status 2
    args = _parser().parse_args(["deploy", "--port", NO_PORT, "--out", str(tmp_path / "b")])
    assert dp.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no board on {NO_PORT}" in err
    assert fake.mpremote_calls() == []


def test_silent_port_fails_at_the_probe(tmp_path, monkeypatch):
    fake = FakeSubprocess(fail_on="exec import sys", stderr="mpremote: failed to access /dev/null")
    monkeypatch.setattr(subprocess, "run", fake)
    with pytest.raises(dp.DeployError, match="^no board on /dev/null: mpremote: failed to access"):
        dp.deploy("/dev/null", out_dir=tmp_path / "b")
    assert fake.mpremote_calls() == [["connect", "/dev/null", "exec", "import sys"]]
    fake = FakeSubprocess(timeout_on="exec import sys")
    monkeypatch.setattr(subprocess, "run", fake)
    with pytest.raises(dp.DeployError, match="no MicroPython REPL answered within"):
        dp.deploy("/dev/null", out_dir=tmp_path / "b")
    assert len(fake.mpremote_calls()) == 1


def test_deploy_runs_probe_then_the_plan(tmp_path, monkeypatch, capsys):
    fake = FakeSubprocess()
    monkeypatch.setattr(subprocess, "run", fake)
    b = dp.deploy("/dev/null", out_dir=tmp_path / "b")
    calls = fake.mpremote_calls()
    assert calls[0] == ["connect", "/dev/null", "exec", "import sys"]
    assert calls[1:] == [c[1:] for c in dp.mpremote_commands(b, "/dev/null")]
    assert "deployed" in capsys.readouterr().out


def test_failed_copy_never_reaches_the_swap(tmp_path, monkeypatch):
    fake = FakeSubprocess(fail_on="payload/app.mpy", stderr="OSError: [Errno 28] ENOSPC")
    monkeypatch.setattr(subprocess, "run", fake)
    with pytest.raises(dp.DeployError, match=r"ENOSPC \(board payload unchanged\)"):
        dp.deploy("/dev/null", out_dir=tmp_path / "b")
    calls = fake.mpremote_calls()
    assert calls[-1][-1] == f":{dp.STAGING_DIR}/payload/app.mpy"
    assert not any("hashlib" in " ".join(c) for c in calls) and ["connect", "/dev/null", "reset"] not in calls


def test_cli_registers_deploy(capsys):
    cli = pytest.importorskip("tools.cli")
    args = cli.build_parser().parse_args(["deploy", "--port", "/dev/ttyACM0", "--arch", "armv7emsp", "--dry-run"])
    assert args.func is dp.run and args.arch == "armv7emsp" and args.dry_run
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["deploy", "--port", "/dev/ttyACM0", "--arch", "x86"])
    assert "invalid choice: 'x86'" in capsys.readouterr().err


# --- on the real MicroPython interpreter ---------------------------------------------

def _run_on_micropython(tmp_path, script: str, mounts: list[tuple[Path, str]]) -> str:
    why = micropython_available()
    if why:
        pytest.fail(f"cannot check the bundle on MicroPython: {why}")
    script_path = tmp_path / "check.py"
    script_path.write_text(script)
    argv = ["node", str(MP_BUNDLE), str(script_path)] + [f"{h}:{m}" for h, m in mounts]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=MP_TIMEOUT_S, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "@@DONE" in proc.stdout, f"MicroPython run failed:\n{out[-4000:]}"
    return proc.stdout


def _run_payload_snippet(n_steps):
    """Python (both interpreters): boot PayloadApp on the fake HAL, step it, report."""
    return f"""
import hal.fake, payload.app, bus.mdb
h = hal.fake.FakeHal()
app = payload.app.PayloadApp(h)
app.start()
i = 0
while i < {n_steps}:
    app.step()
    h.clock.advance(1000)
    i += 1
RESULT = {{"fine": app.fine.runs, "thermal": app.thermal.runs, "hk_reports": app.housekeeping.reports,
          "feeds": h.watchdog.feeds, "expired": h.watchdog.expired(),
          "hk": [app.params.get(p[0]) for p in bus.mdb.PARAMETERS if p[1] != "heap_free_b"]}}
"""


def test_bundle_imports_and_runs_on_micropython(bundle, tmp_path):
    """The strongest check: the compiled .mpy files load on MicroPython and run."""
    fakes = (FAKES / "machine.py").is_file()
    board = {p[:-3].replace("/", ".") for p in BOARD_BACKEND}
    modules = [m for m in _module_names(bundle) if fakes or m not in board]
    mounts = [(bundle.root, "/bundle")] + ([(FAKES, "/fakes")] if fakes else [])
    n_steps = 2500
    script = f"""
import sys, os, json
while sys.path:
    sys.path.pop()
sys.path.append("/bundle")
sys.path.append(".frozen")
{'sys.path.append("/fakes")' if fakes else ''}
def walk(d):
    for n in os.listdir(d):
        p = d + "/" + n
        if os.stat(p)[0] & 0x4000:
            walk(p)
        elif n.endswith(".py") and p != "/bundle/main.py":
            raise AssertionError("source in bundle: " + p)
walk("/bundle")
for m in {json.dumps(modules)}:
    __import__(m)
    mod = sys.modules[m]
    assert mod.__file__.endswith(".mpy"), mod.__file__
    print("@@IMPORTED " + m)
{_run_payload_snippet(n_steps)}
print("@@RESULT " + json.dumps(RESULT))
print("@@DONE")
"""
    out = _run_on_micropython(tmp_path, script, mounts)
    imported = [ln.split()[1] for ln in out.splitlines() if ln.startswith("@@IMPORTED ")]
    assert imported == modules
    assert "payload.app" in imported and "payload.scheduler" in imported and "hal.fake" in imported
    mp_result = json.loads(next(ln for ln in out.splitlines() if ln.startswith("@@RESULT "))[9:])
    assert mp_result["fine"] == n_steps and mp_result["thermal"] >= 20 and mp_result["hk_reports"] >= 6
    assert mp_result["feeds"] >= 20 and not mp_result["expired"]
    # the compiled bundle on MicroPython behaves exactly like the source on CPython
    ns = {}
    exec(_run_payload_snippet(n_steps), ns)
    assert mp_result == json.loads(json.dumps(ns["RESULT"]))


def test_install_script_swaps_a_payload_on_micropython(bundle, tmp_path):
    """The board-side prepare and install scripts, run on MicroPython's filesystem:
    leftover staging is cleared, a corrupted upload is refused with the old
    payload untouched, and a good upload replaces the old payload completely."""
    old = tmp_path / "old_board"
    (old / "payload").mkdir(parents=True)
    (old / "payload" / "stale.py").write_text("OLD = 1\n")
    (old / "main.py").write_text("OLD_MAIN = 1\n")
    (old / "qsat_stage").mkdir()
    (old / "qsat_stage" / "junk.mpy").write_bytes(b"half a file")
    files = [f.path for f in bundle.files]
    script = f"""
import os, sys
PREPARE = {dp.prepare_script(bundle, board_root="/board")!r}
INSTALL = {dp.install_script(bundle, board_root="/board")!r}
FILES = {files!r}
def copy_to_staging(corrupt=None):
    for p in FILES:
        parts = p.split("/")
        d = "/board/qsat_stage"
        for part in [""] + parts[:-1]:
            if part:
                d = d + "/" + part
            try:
                os.mkdir(d)
            except OSError:
                pass
        with open("/host/" + p, "rb") as f:
            data = f.read()
        if p == corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        with open("/board/qsat_stage/" + p, "wb") as f:
            f.write(data)
def exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
exec(PREPARE)
assert not exists("/board/qsat_stage"), "leftover staging not cleared"
copy_to_staging(corrupt="payload/app.mpy")
try:
    exec(INSTALL)
except OSError as e:
    assert "does not match the manifest" in str(e), e
else:
    raise AssertionError("corrupted upload was installed")
assert open("/board/main.py").read() == "OLD_MAIN = 1\\n", "old payload touched"
assert exists("/board/payload/stale.py") and not exists("/board/payload/app.mpy")
exec(PREPARE)
copy_to_staging()
exec(INSTALL)
assert "from payload.boot import main" in open("/board/main.py").read()
assert not exists("/board/payload/stale.py"), "old module left behind"
assert not exists("/board/qsat_stage") and not exists("/board/qsat_old")
for p in FILES:
    assert exists("/board/" + p), p
sys.path.insert(0, "/board")
import payload.app, hal.fake
payload.app.PayloadApp(hal.fake.FakeHal()).start()
print("@@DONE")
"""
    out = _run_on_micropython(tmp_path, script, [(bundle.root, "/host"), (old, "/board")])
    assert "qsat: installed %d files" % len(files) in out


def test_romfs_dry_run_builds_an_image_and_names_the_port(tmp_path, capsys, monkeypatch):
    """--romfs packs the compiled packages into a ROMFS image (executed in place from flash)."""
    calls = []
    real_run = subprocess.run

    def record(argv, *a, **kw):
        calls.append(list(argv))
        return real_run(argv, *a, **kw)

    monkeypatch.setattr(dp.subprocess, "run", record)
    bundle = dp.deploy("/dev/ttyQSAT_ROMFS", "armv7emsp", dry_run=True, out_dir=tmp_path / "b", romfs=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("mpremote connect /dev/ttyQSAT_ROMFS romfs --no-mpy deploy ")
    assert out[1].endswith(":main.py") and out[2].endswith("reset")
    image = tmp_path / "b.romfs"
    data = image.read_bytes()
    for f in bundle.files:
        if f.path.endswith(".mpy"):
            assert f.path.rsplit("/", 1)[1].encode() in data, f.path
    assert data[:3] == b"\xd2\xcd\x31"  # ROMFS header magic
    assert b"M\x06" in data  # .mpy version 6 inside
    assert all("connect" not in c for c in calls)  # only the local 'romfs build', no board contacted
    main_py = (tmp_path / "b-main.py").read_text()
    assert 'sys.path.insert(0, "/rom")' in main_py and "from payload.boot import main" in main_py


def test_flight_entry_point_boots_the_flight_configuration():
    from tools.deploy import MAIN_PY, ROMFS_MAIN_PY, entry_point

    for text in (MAIN_PY, ROMFS_MAIN_PY):
        assert entry_point(text, False) == text  # a development board keeps its lab port
        flight = entry_point(text, True)
        assert "\nmain(flight=True)" in flight and "\nmain()\n" not in flight
        compile(flight, "main.py", "exec")
