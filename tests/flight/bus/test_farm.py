"""FARM-1 (CCSDS 232.1-B-2 §6): every transition of the state table, the CLCW it reports, no garbage."""

from bus import clcw as C
from bus.farm import (
    ACCEPT_AD, ACCEPT_BD, BC_SET_VR_DONE, BC_UNLOCK_DONE, DISCARD_AHEAD, DISCARD_BASE, DISCARD_DUPLICATE,
    DISCARD_INVALID, DISCARD_LOCKED_OUT, DISCARD_NAMES, DISCARD_NO_BUFFER, DISCARD_OUT_OF_WINDOW, DISCARD_VCID,
    LOCKOUT, N_DISCARDS, OPEN, WAIT, Farm1,
)
from bus.tc_frame import FRAME_AD, FRAME_BC, FRAME_BD, OK, UNLOCK, TcFrameReader, set_vr_command, tc_frame
from tests.flight.support import garbage_bytes, raises

SCID = 0x123
VC = 2


class _Link:
    """Reader + FARM, the way the on-board TC path chains them."""

    def __init__(self, window=10, buffers=8):  # W = 10: PW = NW = 5
        self.reader = TcFrameReader(SCID)
        self.farm = Farm1(VC, window, buffers)
        self.frame = b""  # the last frame given to the reader

    def ad(self, ns, vc=VC):
        return self._go(tc_frame(SCID, vc, FRAME_AD, ns, b"ad%d" % ns))

    def bd(self):
        return self._go(tc_frame(SCID, VC, FRAME_BD, 0, b"bd"))

    def unlock(self):
        return self._go(tc_frame(SCID, VC, FRAME_BC, 0, UNLOCK))

    def set_vr(self, vr):
        return self._go(tc_frame(SCID, VC, FRAME_BC, 0, set_vr_command(vr)))

    def _go(self, frame):
        self.frame = frame
        assert self.reader.parse(frame, len(frame)) == OK
        return self.farm.process(self.reader)

    def flags(self):
        f = self.farm
        return (f.state, f.lockout, f.wait, f.retransmit)


def test_in_window_frames_accepted_in_order_and_vr_wraps():
    k = _Link(buffers=1)
    f = k.farm
    f.vr = 253
    for ns in (253, 254, 255, 0, 1):
        assert k.ad(ns) == ACCEPT_AD
        d = k.reader
        # the data stays in the caller's buffer, found through the reader
        assert bytes(k.frame[d.data_offset:d.data_offset + d.data_len]) == b"ad%d" % ns
        f.buffer_released()
    assert f.vr == 2 and f.accepted_ad == 5 and k.flags() == (OPEN, 0, 0, 0)


def test_duplicate_is_discarded_without_flags():
    k = _Link()
    assert k.ad(0) == ACCEPT_AD
    assert k.ad(0) == DISCARD_DUPLICATE
    assert k.flags() == (OPEN, 0, 0, 0) and k.farm.vr == 1


def test_gap_sets_retransmit_until_the_expected_frame_arrives():
    k = _Link()
    assert k.ad(0) == ACCEPT_AD
    assert k.ad(2) == DISCARD_AHEAD  # frame 1 lost
    assert k.flags() == (OPEN, 0, 0, 1)
    assert C.retransmit(k.farm.clcw()) == 1 and C.report_value(k.farm.clcw()) == 1
    assert k.ad(1) == ACCEPT_AD
    assert k.flags() == (OPEN, 0, 0, 0)
    assert k.ad(2) == ACCEPT_AD


def test_window_edges_w10():
    # PW = NW = 5: N(S) - V(R) in 1..4 is ahead, 251..255 a duplicate, 5..250 lockout
    for d, code in ((1, DISCARD_AHEAD), (4, DISCARD_AHEAD), (5, DISCARD_OUT_OF_WINDOW),
                    (250, DISCARD_OUT_OF_WINDOW), (251, DISCARD_DUPLICATE), (255, DISCARD_DUPLICATE)):
        k = _Link()
        k.farm.vr = 2  # windows straddle the wrap
        assert k.ad((2 + d) & 0xFF) == code, d
        assert k.farm.state == (LOCKOUT if code == DISCARD_OUT_OF_WINDOW else OPEN)


def test_window_edges_w2_and_w254():
    k = _Link(window=2)  # PW = NW = 1: no positive window besides V(R) itself
    assert k.ad(1) == DISCARD_OUT_OF_WINDOW
    k = _Link(window=2)
    k.farm.vr = 5
    assert k.ad(4) == DISCARD_DUPLICATE
    k = _Link(window=254)  # PW = NW = 127
    assert k.ad(126) == DISCARD_AHEAD
    assert k.ad(129) == DISCARD_DUPLICATE
    assert k.ad(127) == DISCARD_OUT_OF_WINDOW
    for w in (0, 3, 256):
        raises(ValueError, Farm1, 0, w)
    raises(ValueError, Farm1, 64)
    raises(ValueError, Farm1, 0, 10, 0)


def test_out_of_window_locks_out_until_unlock():
    k = _Link()
    f = k.farm
    assert k.ad(100) == DISCARD_OUT_OF_WINDOW
    assert k.flags() == (LOCKOUT, 1, 0, 0)
    assert k.ad(0) == DISCARD_LOCKED_OUT  # even the expected frame
    assert k.ad(100) == DISCARD_LOCKED_OUT
    assert k.bd() == ACCEPT_BD  # Type-BD still gets through
    assert k.set_vr(50) == BC_SET_VR_DONE  # counted, but V(R) unchanged in Lockout
    assert f.vr == 0 and f.state == LOCKOUT and f.farm_b_counter == 2
    assert k.unlock() == BC_UNLOCK_DONE
    assert k.flags() == (OPEN, 0, 0, 0) and f.farm_b_counter == 3 and f.bc_executed == 2
    assert k.ad(0) == ACCEPT_AD


def test_wait_when_the_buffer_is_full_and_release():
    k = _Link(buffers=1)
    f = k.farm
    assert k.ad(0) == ACCEPT_AD  # takes the only buffer
    assert k.ad(1) == DISCARD_NO_BUFFER  # E2
    assert k.flags() == (WAIT, 0, 1, 1)
    w = f.clcw()
    assert C.wait(w) == 1 and C.retransmit(w) == 1 and C.report_value(w) == 1
    assert k.ad(1) == DISCARD_NO_BUFFER  # still waiting
    assert k.ad(3) == DISCARD_AHEAD and k.ad(0) == DISCARD_DUPLICATE
    assert k.flags() == (WAIT, 0, 1, 1)
    f.buffer_released()  # E10
    assert k.flags() == (OPEN, 0, 0, 1)  # Retransmit stays until a frame is accepted
    assert k.ad(1) == ACCEPT_AD
    assert k.flags() == (OPEN, 0, 0, 0)


def test_buffer_release_while_open_is_harmless_and_capped():
    k = _Link(buffers=2)
    f = k.farm
    f.buffer_released()
    assert f.free_buffers == 2 and f.state == OPEN
    assert k.ad(0) == ACCEPT_AD and k.ad(1) == ACCEPT_AD and k.ad(2) == DISCARD_NO_BUFFER
    f.buffer_released()
    f.buffer_released()
    assert f.free_buffers == 2 and k.ad(2) == ACCEPT_AD


def test_lockout_from_wait_keeps_wait_until_release():
    k = _Link(buffers=1)
    f = k.farm
    k.ad(0)
    assert k.ad(1) == DISCARD_NO_BUFFER
    assert k.ad(77) == DISCARD_OUT_OF_WINDOW  # E5 in Wait
    assert k.flags() == (LOCKOUT, 1, 1, 1)
    f.buffer_released()  # E10 in Lockout: Wait cleared, still locked out
    assert k.flags() == (LOCKOUT, 1, 0, 1)
    assert k.unlock() == BC_UNLOCK_DONE
    assert k.flags() == (OPEN, 0, 0, 0)


def test_unlock_and_set_vr_in_wait():
    k = _Link(buffers=1)
    f = k.farm
    k.ad(0)
    k.ad(1)
    assert f.state == WAIT
    assert k.unlock() == BC_UNLOCK_DONE
    assert k.flags() == (OPEN, 0, 0, 0)
    f.free_buffers = 0
    assert k.ad(1) == DISCARD_NO_BUFFER and f.state == WAIT
    assert k.set_vr(200) == BC_SET_VR_DONE
    assert k.flags() == (OPEN, 0, 0, 0) and f.vr == 200


def test_set_vr_and_unlock_in_open():
    k = _Link()
    f = k.farm
    k.ad(0)
    k.ad(3)
    assert f.retransmit == 1
    assert k.set_vr(9) == BC_SET_VR_DONE
    assert k.flags() == (OPEN, 0, 0, 0) and f.vr == 9
    k.ad(11)
    assert k.unlock() == BC_UNLOCK_DONE
    assert k.flags() == (OPEN, 0, 0, 0) and f.vr == 9


def test_farm_b_counter_counts_bd_and_bc_and_wraps_in_clcw():
    k = _Link()
    f = k.farm
    seen = []
    for i in range(5):
        assert k.bd() == ACCEPT_BD
        seen.append(C.farm_b_counter(f.clcw()))
    assert seen == [1, 2, 3, 0, 1]
    k.unlock()
    k.set_vr(0)
    assert f.farm_b_counter == 7 and C.farm_b_counter(f.clcw()) == 3
    assert f.accepted_bd == 5 and f.bc_executed == 2


def test_other_vc_and_unknown_command_are_discarded():
    k = _Link()
    k.reader = TcFrameReader(SCID)
    assert k.ad(0, vc=VC + 1) == DISCARD_VCID

    class Odd:
        vcid = VC
        frame_type = FRAME_BC
        bc_command = 9
        seq = 0
    assert k.farm.process(Odd()) == DISCARD_INVALID
    assert k.farm.vr == 0 and k.farm.state == OPEN


def test_discard_counters_and_reset():
    k = _Link(buffers=1)
    f = k.farm
    k.ad(0)
    k.ad(1)  # no buffer
    f.buffer_released()
    k.ad(3)  # ahead
    k.ad(0)  # duplicate
    k.ad(40)  # out of window
    k.ad(1)  # locked out
    k.ad(1, vc=VC + 1)  # other vc
    want = [0] * N_DISCARDS
    for code in (DISCARD_NO_BUFFER, DISCARD_AHEAD, DISCARD_DUPLICATE, DISCARD_OUT_OF_WINDOW,
                 DISCARD_LOCKED_OUT, DISCARD_VCID):
        want[code - DISCARD_BASE] += 1
    assert f.discarded == want and len(DISCARD_NAMES) == N_DISCARDS
    f.reset_counters()
    assert f.discarded == [0] * N_DISCARDS and f.accepted_ad == 0


def test_clcw_reports_the_farm():
    k = _Link()
    f = k.farm
    k.ad(0)
    k.ad(1)
    w = f.clcw(no_rf=1)
    assert C.unpack_clcw(w) == {
        "control_word_type": 0, "version": 0, "status": 0, "cop_in_effect": 1, "vcid": VC, "no_rf": 1,
        "no_bit_lock": 0, "lockout": 0, "wait": 0, "retransmit": 0, "farm_b_counter": 0, "report_value": 2,
    }


def test_mp_farm_ad_frame_allocates_nothing():
    reader = TcFrameReader(SCID, vcids=(VC,))
    farm = Farm1(VC)
    frames = [bytearray(tc_frame(SCID, VC, FRAME_AD, ns, bytes(range(32)))) for ns in range(256)]
    n = len(frames[0])
    box = bytearray(1)
    out = [0, 0]

    def one():
        fr = frames[box[0]]
        box[0] = (box[0] + 1) & 0xFF
        if reader.parse(fr, n) == OK and farm.process(reader) == ACCEPT_AD:
            farm.buffer_released()
        out[0] = farm.clcw()
    assert garbage_bytes(one, 300) == 0
    assert farm.accepted_ad == 301 and farm.vr == 301 & 0xFF
