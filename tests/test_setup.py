"""tools/setup.sh: idempotent, and one clear line when Node.js is missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_second_run_is_up_to_date_and_changes_nothing():
    stamp = ROOT / ".venv" / ".qsat-installed"
    before = stamp.stat().st_mtime_ns
    proc = subprocess.run(["sh", "tools/setup.sh"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert ".venv up to date" in proc.stdout and "port up to date" in proc.stdout
    assert stamp.stat().st_mtime_ns == before


def test_missing_node_stops_with_one_line(tmp_path):
    # a PATH with the tools the script needs, but no node or npm
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "cat", "sha256sum", "cut", "dirname", "id", "grep"):
        src = shutil.which(tool)
        assert src, tool
        (bin_dir / tool).symlink_to(src)
    # the real interpreter, not a wrapper script such as a pyenv shim
    (bin_dir / "python3").symlink_to(os.path.realpath(sys._base_executable))
    env = dict(os.environ, PATH=str(bin_dir), QSAT_SETUP_NO_APT="1")
    proc = subprocess.run([str(bin_dir / "sh"), "tools/setup.sh", "--quiet"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("setup: Node.js not found: install Node.js >= 18")
