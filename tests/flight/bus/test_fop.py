"""FOP-1 (CCSDS 232.1-B-2 §5): the state table driven by scripted CLCWs and T1, the directives,
and FOP-1 with FARM-1 over a lossy channel delivering every packet once and in order."""

from bus.clcw import pack_clcw
from bus.crc16 import crc16
from bus.farm import ACCEPT_AD, Farm1
from bus.fop import (
    ACTIVE, AD_QUEUED, AD_REJECTED, AD_SENT, ALERT_CLCW, ALERT_LIMIT, ALERT_LOCKOUT, ALERT_NNR, ALERT_SYNCH,
    ALERT_T1, ALERT_TERM, ALERT_TEXT, BD_SENT, DIRECTIVE_ACCEPTED, DIRECTIVE_REJECTED, INIT_WITH_CLCW,
    INIT_WITH_SET_VR, INIT_WITH_UNLOCK, INIT_WITHOUT_CLCW, INITIAL, INITIALISING_WITH_BC,
    INITIALISING_WITHOUT_BC, RETRANSMIT_WITH_WAIT, RETRANSMIT_WITHOUT_WAIT, Fop1,
)
from bus.tc_frame import BC_SET_VR, BC_UNLOCK, FRAME_AD, FRAME_BC, FRAME_BD, OK, TcFrameReader
from tests.flight.support import raises

SCID = 0x123
VC = 2


def _cw(nr, lockout=0, wait=0, retransmit=0, vc=VC):
    return pack_clcw(vc, nr, lockout, wait, retransmit)


def _ns(frames):
    """N(S) of each Type-AD frame in a list of frames."""
    return [f[4] for f in frames]


def _active(**kw):
    fop = Fop1(SCID, VC, **kw)
    assert fop.initiate_ad(0, INIT_WITHOUT_CLCW) == DIRECTIVE_ACCEPTED
    assert fop.state == ACTIVE
    return fop


def test_frames_produced_bytes():
    fop = Fop1(SCID, VC)
    fop.initiate_ad(0, INIT_WITH_SET_VR, vr=5)
    assert fop.outbox == [bytes([
        0x31,  # version 00, bypass 1, control command 1 (Type-BC), spare 00, SCID[9:8] = 01
        0x23,  # SCID[7:0]: SCID 0x123
        0x08,  # VCID 2, frame length[9:8] = 00
        0x09,  # frame length 10 - 1
        0x00,  # N(S) (unused for Type-B)
        0x82, 0x00, 0x05,  # Set V(R) to 5
        0x26, 0xE4,  # FECF
    ])]
    assert fop.vs == 5 and fop.nnr == 5 and fop.state == INITIALISING_WITH_BC
    fop.clcw(_cw(5), 10)
    assert fop.state == ACTIVE and fop.sent_queue == []
    del fop.outbox[:]
    assert fop.transmit_ad(b"\x18\x10", 20) == AD_SENT
    assert fop.outbox == [bytes([
        0x01,  # Type-AD, SCID[9:8] = 01
        0x23,  # SCID[7:0]
        0x08,  # VCID 2, frame length[9:8]
        0x09,  # frame length 10 - 1
        0x05,  # N(S) = V(S) = 5
        0xC0,  # segment header: unsegmented, MAP 0
        0x18, 0x10,  # data
        0x67, 0xFE,  # FECF
    ])]
    assert crc16(fop.outbox[0]) == 0
    r = TcFrameReader(SCID)
    assert r.parse(fop.outbox[0], 10) == OK and r.frame_type == FRAME_AD and r.seq == 5


def test_sliding_window_and_wait_queue():
    fop = _active(window=3)
    assert [fop.transmit_ad(b"p%d" % i, 0) for i in range(3)] == [AD_SENT] * 3
    assert fop.transmit_ad(b"p3", 0) == AD_QUEUED  # window full: waits
    assert fop.transmit_ad(b"p4", 0) == AD_REJECTED  # wait queue holds one
    assert _ns(fop.outbox) == [0, 1, 2] and fop.vs == 3 and fop.timer_running
    fop.clcw(_cw(1), 100)  # E6: frame 0 acknowledged, frame 3 goes out
    assert _ns(fop.outbox) == [0, 1, 2, 3] and fop.nnr == 1 and fop.wait_queue is None
    assert [e[0] for e in fop.sent_queue] == [1, 2, 3]
    fop.clcw(_cw(1), 150)  # E5: nothing new
    assert fop.state == ACTIVE and len(fop.outbox) == 4
    fop.clcw(_cw(4), 200)  # E2: everything acknowledged, T1 stopped
    assert fop.sent_queue == [] and not fop.timer_running and fop.state == ACTIVE
    assert fop.alerts == []


def test_retransmit_flag_resends_outstanding_frames():
    fop = _active()
    for i in range(4):
        fop.transmit_ad(b"x%d" % i, 0)
    del fop.outbox[:]
    fop.clcw(_cw(1, retransmit=1), 100)  # E8: 0 acked, 1 lost
    assert fop.state == RETRANSMIT_WITHOUT_WAIT and _ns(fop.outbox) == [1, 2, 3]
    assert fop.transmission_count == 2 and fop.retransmissions == 3
    fop.clcw(_cw(1, retransmit=1), 150)  # E10 in S2: ignored (retransmission under way)
    assert len(fop.outbox) == 3
    fop.clcw(_cw(3), 200)  # E6: back to Active
    assert fop.state == ACTIVE and fop.transmission_count == 1 and [e[0] for e in fop.sent_queue] == [3]


def test_retransmit_in_active_without_new_ack():
    fop = _active()
    fop.transmit_ad(b"a", 0)
    fop.transmit_ad(b"b", 0)
    del fop.outbox[:]
    fop.clcw(_cw(0, retransmit=1), 10)  # E10 in S1
    assert _ns(fop.outbox) == [0, 1] and fop.state == RETRANSMIT_WITHOUT_WAIT


def test_t1_expiry_retransmits_then_alerts_at_the_limit():
    alerts = []
    fop = _active(t1_ms=2000, transmission_limit=3, on_alert=alerts.append)
    fop.transmit_ad(b"lost", 1000)
    fop.tick(2999)
    assert len(fop.outbox) == 1
    fop.tick(3000)  # E16: first retransmission
    assert len(fop.outbox) == 2 and fop.state == RETRANSMIT_WITHOUT_WAIT and fop.transmission_count == 2
    fop.tick(5000)
    assert len(fop.outbox) == 3 and fop.transmission_count == 3
    fop.tick(7000)  # E17: limit reached
    assert alerts == [ALERT_T1] and fop.alerts == [ALERT_T1] and fop.state == INITIAL
    assert fop.sent_queue == [] and not fop.timer_running and len(fop.outbox) == 3
    assert fop.transmit_ad(b"x", 7000) == AD_REJECTED and ALERT_TEXT[ALERT_T1]


def test_timeout_type_1_suspends_and_resume_restarts():
    fop = _active(transmission_limit=1, timeout_type=1)
    fop.transmit_ad(b"q", 0)
    assert fop.resume(0) == DIRECTIVE_REJECTED  # nothing suspended
    fop.tick(2000)  # E18: suspend, not alert
    assert fop.state == INITIAL and fop.suspend_state == ACTIVE and fop.alerts == []
    assert fop.set_vs(9) == DIRECTIVE_REJECTED  # suspended: V(S) must not move
    assert fop.resume(2500) == DIRECTIVE_ACCEPTED
    assert fop.state == ACTIVE and fop.suspend_state == 0 and fop.timer_running
    assert [e[0] for e in fop.sent_queue] == [0]  # queues survived the suspension


def test_lockout_alerts():
    fop = _active()
    fop.transmit_ad(b"z", 0)
    fop.clcw(_cw(0, lockout=1), 10)
    assert fop.alerts == [ALERT_LOCKOUT] and fop.state == INITIAL and fop.sent_queue == []


def test_invalid_report_value_alerts():
    fop = _active()
    fop.transmit_ad(b"z", 0)
    fop.clcw(_cw(5), 10)  # acknowledges frames never sent
    assert fop.alerts == [ALERT_NNR]


def test_clcw_inconsistencies_alert():
    fop = _active()
    fop.clcw(_cw(0, wait=1), 0)  # E3: Wait with nothing outstanding
    assert fop.alerts == [ALERT_CLCW]
    fop = _active()
    fop.clcw(_cw(0, retransmit=1), 0)  # E4: retransmit with nothing outstanding
    assert fop.alerts == [ALERT_SYNCH]
    fop = _active()
    fop.transmit_ad(b"a", 0)
    fop.transmit_ad(b"b", 0)
    fop.clcw(_cw(1, wait=1), 0)  # E7: Wait without Retransmit
    assert fop.alerts == [ALERT_CLCW]
    fop = _active()
    fop.transmit_ad(b"a", 0)
    fop.transmit_ad(b"b", 0)
    fop.clcw(_cw(0, retransmit=1), 0)  # -> S2
    fop.clcw(_cw(0), 10)  # E5 in S2: retransmit cleared yet nothing accepted
    assert fop.alerts == [ALERT_SYNCH]


def test_transmission_limit_1_alerts_on_retransmit_request():
    fop = _active(transmission_limit=1)
    fop.transmit_ad(b"a", 0)
    fop.transmit_ad(b"b", 0)
    fop.clcw(_cw(1, retransmit=1), 0)  # E101
    assert fop.alerts == [ALERT_LIMIT] and fop.nnr == 1


def test_wait_then_release_then_retransmit():
    fop = _active()
    for i in range(3):
        fop.transmit_ad(b"w%d" % i, 0)
    del fop.outbox[:]
    fop.clcw(_cw(1, wait=1, retransmit=1), 10)  # E9: 0 acked, FARM has no buffer
    assert fop.state == RETRANSMIT_WITH_WAIT and fop.outbox == []
    assert fop.transmit_ad(b"w3", 20) == AD_QUEUED  # S3: held in the wait queue
    fop.clcw(_cw(1, wait=1, retransmit=1), 30)  # E11 in S3: still waiting
    fop.tick(5000)  # T1 in S3: ignored
    assert fop.outbox == [] and fop.state == RETRANSMIT_WITH_WAIT
    fop.clcw(_cw(1, retransmit=1), 5100)  # E10 from S3: buffer released, retransmit
    assert _ns(fop.outbox) == [1, 2, 3] and fop.state == RETRANSMIT_WITHOUT_WAIT
    fop.clcw(_cw(4), 5200)
    assert fop.state == ACTIVE and fop.sent_queue == [] and fop.alerts == []


def test_limit_reached_states_e12_e103():
    fop = _active(transmission_limit=2)
    fop.transmit_ad(b"a", 0)
    fop.clcw(_cw(0, retransmit=1), 0)  # E10: count 2 = limit
    assert fop.state == RETRANSMIT_WITHOUT_WAIT
    fop.clcw(_cw(0, retransmit=1, wait=1), 0)  # E103 -> S3
    assert fop.state == RETRANSMIT_WITH_WAIT
    fop.clcw(_cw(0, retransmit=1), 0)  # E12 -> S2, nothing resent
    assert fop.state == RETRANSMIT_WITHOUT_WAIT and len(fop.outbox) == 2


def test_initialise_with_clcw_check():
    fop = Fop1(SCID, VC)
    assert fop.set_vs(7) == DIRECTIVE_ACCEPTED and fop.vs == 7 and fop.nnr == 7
    fop.initiate_ad(0, INIT_WITH_CLCW)
    assert fop.state == INITIALISING_WITHOUT_BC and fop.timer_running and fop.outbox == []
    assert fop.transmit_ad(b"early", 0) == AD_REJECTED
    fop.clcw(_cw(7, vc=VC + 1), 10)  # another VC's CLCW: ignored
    fop.clcw(pack_clcw(VC, 7, cop_in_effect=0), 10)  # not COP-1: ignored
    assert fop.clcw_ignored == 2 and fop.state == INITIALISING_WITHOUT_BC
    fop.clcw(_cw(7), 20)  # E1 in S4
    assert fop.state == ACTIVE and not fop.timer_running
    fop = Fop1(SCID, VC)
    fop.initiate_ad(0, INIT_WITH_CLCW)
    fop.tick(2000)  # E16 in S4: alert T1
    assert fop.alerts == [ALERT_T1] and fop.state == INITIAL


def test_initialise_with_unlock_ignores_lockout_until_done():
    fop = Fop1(SCID, VC)
    fop.initiate_ad(0, INIT_WITH_UNLOCK)
    r = TcFrameReader(SCID)
    assert r.parse(fop.outbox[0], len(fop.outbox[0])) == OK
    assert r.frame_type == FRAME_BC and r.bc_command == BC_UNLOCK
    fop.clcw(_cw(0, lockout=1), 10)  # E14 in S5: ignored
    fop.clcw(_cw(0, retransmit=1), 10)  # E4 in S5: ignored
    assert fop.state == INITIALISING_WITH_BC and fop.alerts == []
    fop.tick(2000)  # E16 in S5: the BC frame again
    assert len(fop.outbox) == 2 and fop.outbox[1] == fop.outbox[0] and fop.transmission_count == 2
    fop.clcw(_cw(0), 2100)  # E1 in S5: unlocked
    assert fop.state == ACTIVE and fop.sent_queue == []


def test_initialise_with_set_vr_alerts_after_the_limit():
    fop = Fop1(SCID, VC, transmission_limit=2)
    fop.initiate_ad(0, INIT_WITH_SET_VR, vr=200)
    r = TcFrameReader(SCID)
    r.parse(fop.outbox[0], len(fop.outbox[0]))
    assert r.bc_command == BC_SET_VR and r.bc_vr == 200
    fop.clcw(_cw(3), 10)  # old V(R): invalid N(R), ignored in S5
    fop.tick(2000)
    fop.tick(4000)  # E17 in S5
    assert fop.alerts == [ALERT_T1] and len(fop.outbox) == 2


def test_directives_in_the_wrong_state_are_rejected():
    fop = _active()
    assert fop.initiate_ad(0, INIT_WITHOUT_CLCW) == DIRECTIVE_REJECTED
    assert fop.set_vs(3) == DIRECTIVE_REJECTED
    assert fop.set_window(5) == DIRECTIVE_ACCEPTED and fop.window == 5
    assert fop.set_t1(500) == DIRECTIVE_ACCEPTED and fop.t1_ms == 500
    assert fop.set_transmission_limit(4) == DIRECTIVE_ACCEPTED and fop.transmission_limit == 4
    assert fop.set_timeout_type(1) == DIRECTIVE_ACCEPTED
    fop.transmit_ad(b"t", 0)
    assert fop.terminate(10) == DIRECTIVE_ACCEPTED
    assert fop.alerts == [ALERT_TERM] and fop.state == INITIAL and fop.sent_queue == []
    assert fop.terminate(20) == DIRECTIVE_ACCEPTED and fop.alerts == [ALERT_TERM]
    for bad in ((fop.set_window, 0), (fop.set_t1, 0), (fop.set_transmission_limit, 0),
                (fop.set_timeout_type, 2), (fop.set_vs, 256)):
        raises(ValueError, *bad)
    raises(ValueError, fop.initiate_ad, 0, 99)
    raises(ValueError, fop.transmit_ad, b"", 0)
    raises(ValueError, fop.transmit_bd, bytes(1017))


def test_bd_frames_go_in_any_state():
    sent = []
    fop = Fop1(SCID, VC, send=sent.append, map_id=4)
    assert fop.transmit_bd(b"urgent") == BD_SENT
    r = TcFrameReader(SCID)
    assert r.parse(sent[0], len(sent[0])) == OK
    assert r.frame_type == FRAME_BD and r.map_id == 4 and fop.outbox == [] and fop.frames_sent == 1


# -- FOP-1 and FARM-1 together over an impaired channel ----------------------------------------

def _run_link(n_packets, drop_every=0, dup_every=0, swap_every=0, clcw_drop_every=0, buffers=8,
              release_late=False, window=10, limit=3, farm_window=20):
    fop = Fop1(SCID, VC, window=window, transmission_limit=limit)
    reader = TcFrameReader(SCID, vcids=(VC,))
    farm = Farm1(VC, farm_window, buffer_frames=buffers)
    packets = [b"pkt-%03d-" % i + bytes(i % 17) for i in range(n_packets)]
    todo = list(packets)
    delivered = []
    now = 0
    sent = 0  # frames through the channel, for the impairment pattern
    assert fop.initiate_ad(now, INIT_WITH_SET_VR, vr=250) == DIRECTIVE_ACCEPTED
    step = 0
    while step < 400 and len(delivered) < n_packets:
        step += 1
        now += 100
        while todo and fop.state <= RETRANSMIT_WITH_WAIT:
            if fop.transmit_ad(todo[0], now) == AD_REJECTED:
                break
            todo.pop(0)
        batch = []
        for f in fop.outbox:
            sent += 1
            if drop_every and sent % drop_every == 0:
                continue
            batch.append(f)
            if dup_every and sent % dup_every == 0:
                batch.append(f)
        del fop.outbox[:]
        if swap_every:
            i = 0
            while i + 1 < len(batch):
                if (sent + i) % swap_every == 0:
                    batch[i], batch[i + 1] = batch[i + 1], batch[i]
                i += 1
        taken = 0
        for f in batch:
            assert reader.parse(f, len(f)) == OK
            if farm.process(reader) == ACCEPT_AD:
                delivered.append(bytes(f[reader.data_offset:reader.data_offset + reader.data_len]))
                if release_late:
                    taken += 1
                else:
                    farm.buffer_released()
        if not (clcw_drop_every and step % clcw_drop_every == 0):
            fop.clcw(farm.clcw(), now)
        while taken:
            farm.buffer_released()
            taken -= 1
        fop.tick(now)
    return packets, delivered, fop, farm


def test_link_clean_channel():
    packets, delivered, fop, farm = _run_link(30)
    assert delivered == packets and fop.alerts == [] and fop.retransmissions == 0
    assert farm.vr == (250 + 30) & 0xFF and farm.bc_executed == 1


def test_link_drops_every_7th_frame():
    packets, delivered, fop, farm = _run_link(60, drop_every=7)
    assert delivered == packets and fop.alerts == [] and fop.retransmissions > 0
    assert farm.discarded[1] > 0  # frames arrived ahead of a lost one


def test_link_duplicates_and_reorders():
    packets, delivered, fop, farm = _run_link(60, dup_every=5, swap_every=4)
    assert delivered == packets and fop.alerts == []
    assert farm.discarded[2] > 0  # duplicates discarded by the FARM


def test_link_everything_at_once_with_lost_clcws_and_a_busy_receiver():
    packets, delivered, fop, farm = _run_link(60, drop_every=9, dup_every=6, swap_every=5, clcw_drop_every=3,
                                              buffers=3, release_late=True)
    assert delivered == packets and fop.alerts == []
    assert farm.discarded[0] > 0  # the FARM ran out of buffer and asked the FOP to wait


def test_link_fop_window_beyond_farm_positive_window_locks_out():
    # K = 10 with W = 10 (PW = 5): the first lost frame puts its successors in the lockout area
    packets, delivered, fop, farm = _run_link(30, drop_every=7, farm_window=10)
    assert fop.alerts == [ALERT_LOCKOUT] and farm.lockout == 1 and len(delivered) < 30
    # K = 5 fits PW = 5: the same channel delivers everything
    packets, delivered, fop, farm = _run_link(30, drop_every=7, farm_window=10, window=5)
    assert delivered == packets and fop.alerts == []
