"""Live fault injection into the real-time emulator: ``qsat emulate`` + ``qsat inject`` on loopback."""

import json
import socket
import subprocess
import sys
import time

import pytest

from bus import mdb
from bus.pus import pack_tc
from ground_segment.mdb_decode import DecodeError, Event, decode_bytes
from tests.test_e2e_ops import QSAT, _free_udp_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def emulator():
    ports = {k: _free_udp_port() for k in ("lab", "tc", "tm", "fault")}
    emu = subprocess.Popen(QSAT + ["emulate", "--lab-port", str(ports["lab"]), "--tc-port", str(ports["tc"]),
                                   "--tm-port", str(ports["tm"]), "--fault-port", str(ports["fault"]),
                                   "--duration", "90"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = emu.stdout.readline()
    try:
        assert f"fault injection udp/{ports['fault']}" in banner, banner
        yield ports
    finally:
        emu.terminate()
        try:
            emu.wait(10)
        except subprocess.TimeoutExpired:
            emu.kill()


def _inject(ports, *words):
    return subprocess.run(QSAT + ["inject", *words, "--port", str(ports["fault"])], capture_output=True, text=True,
                          timeout=30)


def _events(sock, seconds):
    names = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if len(data) > 8 and data[7] == 5:
            try:
                names += [(e.name, e.args) for e in decode_bytes(data) if isinstance(e, Event)]
            except DecodeError:
                pass
    return names


def test_operator_injects_a_thermistor_fault_and_the_payload_reports_it(emulator):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.sendto(pack_tc(mdb.APID_MANAGER, 1, 17, 1), ("127.0.0.1", emulator["lab"]))  # the lab port learns us
        _events(sock, 1.0)
        r = _inject(emulator, "thermistor_open", "--duration", "3")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("injected thermistor_open at ") and "for 3 s" in r.stdout
        seen = _events(sock, 5.0)
    names = [n for n, a in seen]
    assert "EV_SRC_INTERLOCK" in names  # the crystal-sensor interlock opened: source SAFE
    assert ("EV_FDIR_TRIP", {"monitor": 1, "value": 4, "action": 0}) in seen  # SRC_INTERLOCK, IL_CRYSTAL_SENSOR


def test_bad_injections_are_refused_with_a_reason(emulator):
    r = _inject(emulator, "meteor")
    assert r.returncode == 2 and "unknown fault 'meteor'" in r.stderr
    r = _inject(emulator, "beacon_loss", "--param", "beam=5")
    assert r.returncode == 2 and "beam 5 out of range" in r.stderr
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # the port itself refuses what is wrong
        sock.settimeout(5.0)
        sock.sendto(b'{"fault": "tec_failure", "duration_s": -1}', ("127.0.0.1", emulator["fault"]))
        reply = json.loads(sock.recv(4096))
        assert reply["ok"] is False and "duration" in reply["error"]
        sock.sendto(b"not json", ("127.0.0.1", emulator["fault"]))
        assert json.loads(sock.recv(4096))["ok"] is False


def test_inject_without_an_emulator_says_so():
    r = subprocess.run(QSAT + ["inject", "tec_failure", "--port", str(_free_udp_port())], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "no answer from an emulator" in r.stderr


def test_emulate_takes_a_fault_file_and_refuses_a_bad_one(tmp_path):
    ports = [str(_free_udp_port()) for _ in range(3)]
    common = ["emulate", "--lab-port", ports[0], "--tc-port", ports[1], "--tm-port", ports[2], "--fault-port", "0"]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"fault": "tec_failure"}]')
    r = subprocess.run(QSAT + common + ["--faults", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "entry 0 needs 'fault' and 'at_s'" in r.stderr
    good = tmp_path / "faults.json"
    good.write_text('[{"fault": "thermistor_short", "at_s": 1.5, "duration_s": 1.0}]')
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        emu = subprocess.Popen(QSAT + common + ["--faults", str(good), "--duration", "4"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        try:
            emu.stdout.readline()  # the banner: the lab port is bound
            sock.sendto(pack_tc(mdb.APID_MANAGER, 1, 17, 1), ("127.0.0.1", int(ports[0])))
            seen = _events(sock, 3.0)
        finally:
            emu.wait(30)
    assert emu.returncode == 0
    assert "EV_SRC_INTERLOCK" in [n for n, a in seen]
