"""End to end, as an operator would: qsat emulate + qsat ground + the tools, on loopback.

Ports are picked free for each run so that tests never collide with a running
emulator.  Every wait is bounded.
"""

import json
import socket
import subprocess
import sys
import time

import pytest
from spacepackets.ecss import PusTc
from spacepackets.ecss.tm import PusTm

from bus import mdb

QSAT = [sys.executable, "-m", "tools.cli"]


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    ports = {"lab": _free_udp_port(), "tc": _free_udp_port(), "tm": _free_udp_port(), "ops": _free_tcp_port()}
    archive = tmp_path_factory.mktemp("ground") / "ground.sqlite"
    emu = subprocess.Popen(QSAT + ["emulate", "--lab-port", str(ports["lab"]), "--tc-port", str(ports["tc"]),
                                   "--tm-port", str(ports["tm"]), "--duration", "120"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    gnd = subprocess.Popen(QSAT + ["ground", "--archive", str(archive), "--tm-port", str(ports["tm"]),
                                   "--tc-port", str(ports["tc"]), "--ops-port", str(ports["ops"]),
                                   "--duration", "120", "--key-file", str(archive.parent / "ground_keys.json")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ops = ["--port", str(ports["ops"])]
    deadline = time.monotonic() + 30
    st = {}
    while time.monotonic() < deadline:
        r = subprocess.run(QSAT + ["status"] + ops, capture_output=True, text=True)
        if r.returncode == 0 and "fop_state        active" in r.stdout:
            st = r.stdout
            break
        time.sleep(0.5)
    try:
        assert st, "ground station never established the space link"
        yield {"ports": ports, "ops": ops, "archive": archive}
    finally:
        for p in (emu, gnd):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _tc(system, *words, timeout="10"):
    return subprocess.run(QSAT + ["tc", *words, "--timeout", timeout] + system["ops"], capture_output=True,
                          text=True, timeout=60)


def test_ping_over_the_space_link(system):
    r = _tc(system, "MGR_PING")
    assert r.returncode == 0, r.stderr
    assert "acceptance  ok" in r.stdout and "completion  ok" in r.stdout


def test_parameter_change_seen_in_housekeeping_and_archive(system):
    r = _tc(system, "PARAM_SET", "pid=0x0206", "value=300000")
    assert r.returncode == 0, r.stderr
    w = subprocess.run(QSAT + ["watch", "crystal_set_point_mk", "--seconds", "2.5", "--no-colour"] + system["ops"],
                       capture_output=True, text=True, timeout=30)
    assert "26.85" in w.stdout  # 300000 mK in degC, calibrated on the ground
    time.sleep(1.0)
    a = subprocess.run(QSAT + ["archive", "params", "crystal_set_point_mk", "--archive", str(system["archive"])],
                       capture_output=True, text=True, timeout=30)
    assert a.returncode == 0, a.stderr
    rows = [json.loads(line) for line in a.stdout.splitlines()]
    assert rows and rows[-1]["raw"] == 300000
    c = subprocess.run(QSAT + ["archive", "commands", "--archive", str(system["archive"])],
                       capture_output=True, text=True, timeout=30)
    assert "PARAM_SET" in c.stdout and "completion" in c.stdout


def test_refused_command_exits_non_zero_with_the_reason(system):
    r = _tc(system, "PARAM_SET", "pid=0x0206", "value=999999")
    assert r.returncode == 1
    assert "outside the parameter's settable range" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert ("completion failed: value 999999 of crystal_set_point_mk outside the parameter's settable range "
            "288150..333150 mK") in r.stderr  # the limit violated, from the failure report and the command sent


def test_malformed_command_refused_before_sending(system):
    r = _tc(system, "APT_FINE_ENABLE", "beam=7", "on=1")
    assert r.returncode == 1 and "outside 0..1" in r.stderr


def test_spacepackets_ping_on_the_lab_port(system):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.sendto(PusTc(service=17, message_subtype=1, apid=mdb.APID_MANAGER, seq_count=9).pack(),
                 ("127.0.0.1", system["ports"]["lab"]))
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and ((17, 2) not in got or (1, 7) not in got):
            try:
                data, _ = s.recvfrom(4096)
            except socket.timeout:
                break
            tm = PusTm.unpack(data, timestamp_len=7)
            got.append((tm.service, tm.message_subtype))
    assert (17, 2) in got and (1, 1) in got and (1, 7) in got


def test_ground_survives_garbage_frames(system):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for blob in (b"", b"\x00", b"\xff" * 1115, b"\x1a\xcf\xfc\x1d" * 300, bytes(range(256)) * 5):
            s.sendto(blob, ("127.0.0.1", system["ports"]["tm"]))
    time.sleep(0.5)
    r = subprocess.run(QSAT + ["status"] + system["ops"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    bad = int(next(line.split()[1] for line in r.stdout.splitlines() if line.startswith("frames_bad")))
    assert bad >= 4
    assert _tc(system, "MGR_PING").returncode == 0


def test_tools_say_why_without_a_ground_station():
    r = subprocess.run(QSAT + ["tc", "MGR_PING", "--port", str(_free_tcp_port())], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "cannot reach qsat ground" in r.stderr
