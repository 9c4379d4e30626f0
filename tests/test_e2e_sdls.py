"""End to end over loopback: `qsat emulate` + `qsat ground` + `qsat tc`, with TC authentication.

One payload, two ground stations in turn on the same ports: the first signs
with a key the payload does not hold, and `qsat tc` says why the command was
refused; the second holds the laboratory key and is obeyed.
"""

import json
import subprocess
import sys
import time

import pytest

from tests.test_e2e_ops import _free_tcp_port, _free_udp_port

QSAT = [sys.executable, "-m", "tools.cli"]


def _ground(ports, tmp, key_file, seconds="40"):
    return subprocess.Popen(QSAT + ["ground", "--archive", str(tmp / "ground.sqlite"), "--tm-port", str(ports["tm"]),
                                    "--tc-port", str(ports["tc"]), "--ops-port", str(ports["ops"]),
                                    "--duration", seconds, "--key-file", str(key_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_link(ops):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = subprocess.run(QSAT + ["status"] + ops, capture_output=True, text=True)
        if r.returncode == 0 and "fop_state        active" in r.stdout:
            return True
        time.sleep(0.5)
    return False


def _stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


@pytest.mark.timeout(240)
def test_tool_says_why_the_payload_refused_a_badly_signed_command(tmp_path):
    ports = {"lab": _free_udp_port(), "tc": _free_udp_port(), "tm": _free_udp_port(), "ops": _free_tcp_port()}
    emu = subprocess.Popen(QSAT + ["emulate", "--lab-port", str(ports["lab"]), "--tc-port", str(ports["tc"]),
                                   "--tm-port", str(ports["tm"]), "--duration", "150"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ops = ["--port", str(ports["ops"])]
    bad_keys = tmp_path / "bad_keys.json"
    gnd = None
    try:
        from ground_segment.sdls import default_keys

        data = default_keys()
        data["keys"]["1"] = "42" * 32  # not the payload's key
        bad_keys.write_text(json.dumps(data))
        gnd = _ground(ports, tmp_path, bad_keys)
        assert _wait_link(ops), "ground station never established the space link"
        r = subprocess.run(QSAT + ["tc", "MGR_PING", "--timeout", "15"] + ops, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode != 0
        assert "rejected on board: MAC check failed (SPI 1)" in r.stderr, (r.stdout, r.stderr)
        _stop(gnd)
        gnd = _ground(ports, tmp_path, tmp_path / "ground_keys.json")  # created with the laboratory keys
        assert _wait_link(ops), "second ground station never established the space link"
        r = subprocess.run(QSAT + ["tc", "MGR_PING", "--timeout", "15"] + ops, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert "completion  ok" in r.stdout
        assert (tmp_path / "ground_keys.json").exists()
    finally:
        if gnd is not None:
            _stop(gnd)
        _stop(emu)
