"""TC authentication between the ground station and the payload (CPython; docs/security.md).

The flight side (bus/sdls.py) is checked against CPython's ``hmac``; then the
ground station (ground_segment/station.py) and the payload application on the
fake HAL are wired back to back in one process (tests/space_link_pair.py): TM
frames from the payload go to ``GroundStation.on_frame``, the CLTUs the station
sends go to the payload's space link.
"""

import hashlib
import hmac
import os
import stat

from hypothesis import given, strategies as st

from bus import sdls
from ground_segment.sdls import FrameSigner, GroundKeys, key_load_args
from tests.space_link_pair import SpaceLinkPair


@given(st.binary(min_size=0, max_size=200), st.binary(min_size=0, max_size=600))
def test_hmac_equals_cpython_hmac(key, msg):
    assert sdls.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()


@given(st.integers(1, 3), st.integers(1, 0xFFFFFFFF), st.binary(min_size=32, max_size=32))
def test_key_wrap_is_hmac_counter_mode_and_inverts(spi, nonce, key):
    kek = sdls.lab_key(0)
    block = hmac.new(kek, b"QSAT-KW" + spi.to_bytes(2, "big") + nonce.to_bytes(4, "big") + b"\x00",
                     hashlib.sha256).digest()
    wrapped = sdls.wrap_key(kek, spi, nonce, key)
    assert wrapped == bytes(a ^ b for a, b in zip(key, block))
    assert sdls.unwrap_key(kek, spi, nonce, wrapped) == key


def test_key_file_created_with_lab_keys_private_and_counters_persist(tmp_path):
    path = tmp_path / "ground_keys.json"
    keys = GroundKeys(str(path))
    assert keys.created and keys.spi == 1 and keys.key(1) == sdls.lab_key(1) and keys.kek() == sdls.lab_key(0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [keys.take_sn(1), keys.take_sn(1)] == [1, 2]
    again = GroundKeys(str(path))
    assert not again.created and again.take_sn(1) == 3  # a restarted station never reuses an SN
    assert again.ensure_sn_above(1, 100) and again.take_sn(1) == 101


class BackToBack(SpaceLinkPair):
    """A payload on the fake HAL and a ground station joined by their space links, the AD service started."""

    def __init__(self, tmp_path, key_file=None, **station_kw):
        super().__init__(tmp_path, key_file=key_file, **station_kw)
        self.run_ms(1200)
        assert self.gs.fop.state != 6, "no CLCW reached the ground"  # AD service started


def test_station_signs_and_the_payload_executes(tmp_path):
    b = BackToBack(tmp_path)
    cmd, lines = b.command("MGR_PING")
    assert cmd.done and lines[-1] == {"event": "done", "success": True, "reason": "completed"}
    assert b.gs.counters["tc_frames_signed"] >= 1
    assert b.app.link.sdls.accepted >= 1 and b.app.link.sdls.bad_mac == 0
    assert b.app.keys.last_sn(1) == b.gs.keys.data["next_sn"]["1"] - 1


def test_wrong_ground_key_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "keys.json"
    keys = GroundKeys(str(path))
    keys.set_key(1, b"\x42" * 32)  # not the payload's key
    b = BackToBack(tmp_path, key_file=path)
    cmd, lines = b.command("MGR_PING", ms=2500)
    assert cmd.done
    assert lines[-1]["success"] is False
    assert lines[-1]["reason"] == "rejected on board: MAC check failed (SPI 1)"
    assert b.app.router.packets_routed == 0 and b.app.link.sdls.bad_mac >= 1


def test_unknown_spi_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "keys.json"
    keys = GroundKeys(str(path))
    keys.data["keys"]["9"] = sdls.lab_key(1).hex()
    keys.save()
    b = BackToBack(tmp_path, key_file=path, spi=9)
    cmd, lines = b.command("MGR_PING", ms=2500)
    assert lines[-1]["reason"] == "rejected on board: unknown or disabled SPI (SPI 9)"


def test_key_load_through_the_station_then_sign_with_the_new_key(tmp_path):
    b = BackToBack(tmp_path)
    new_key = bytes(range(100, 132))
    cmd, lines = b.command("SEC_KEY_LOAD", {"spi": "2", "key": new_key.hex()})
    assert lines[-1]["success"] is True, lines
    assert b.gs.keys.key(2) == new_key  # the key file follows once the board confirmed
    assert b.app.keys.key_loads == 1
    b.gs.signer = FrameSigner(b.gs.keys, 2)  # as `qsat ground --spi 2` would
    cmd, lines = b.command("MGR_PING")
    assert lines[-1]["success"] is True
    assert b.app.keys.last_sn(2) >= 1
    # the old lab key of SPI 2 no longer authenticates
    b.gs.keys.set_key(2, sdls.lab_key(2))
    b.gs.signer = FrameSigner(b.gs.keys, 2)
    cmd, lines = b.command("MGR_PING", ms=2500)
    assert "MAC check failed (SPI 2)" in lines[-1]["reason"]


def test_key_load_nonce_reuse_refused(tmp_path):
    b = BackToBack(tmp_path)
    args = key_load_args(b.gs.keys, 3, b"\x01" * 32, nonce=5)
    cmd, lines = b.command("SEC_KEY_LOAD", args)
    assert lines[-1]["success"] is True
    cmd, lines = b.command("SEC_KEY_LOAD", key_load_args(b.gs.keys, 3, b"\x02" * 32, nonce=5))
    assert lines[-1]["success"] is False and "nonce" in lines[-1]["reason"]


def test_ground_sequence_numbers_follow_the_board_after_a_lost_key_file(tmp_path):
    b = BackToBack(tmp_path)
    b.app.keys.accept_sn(1, 5000)  # the board has seen frames up to 5000 (e.g. from another station)
    b.run_ms(10500)  # HK_SECURITY (every 10 s) reports sec_last_sn_1
    assert b.gs.keys.data["next_sn"]["1"] > 5000
    cmd, lines = b.command("MGR_PING")
    assert lines[-1]["success"] is True
