"""The payload's space link: CLTU -> TC frame -> FARM-1 -> packet, TM frames with CLCW."""

from bus import clcw as clcw_mod
from bus import mdb
from bus.cltu import cltu_encode
from bus.pus import pack_tc, unpack_tm
from bus.tc_frame import tc_frame, FRAME_AD, FRAME_BC, FRAME_BD, REJECT_SCID, UNLOCK
from bus.tm_frame import TmFrameReader
from bus import sdls
from hal.fake import FakeHal
from payload.app import PayloadApp
from tests.flight.payload.ground_stub import Bench


class Link(Bench):
    """The payload with a ground frame reader on its space link."""

    def __init__(self):
        super().__init__()
        self.space = self.hal.links["space"]
        self.ground = TmFrameReader(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN)

    def uplink(self, data, ms=60):
        self.space.rx.append(data)
        self.run_ms(ms)

    def downlink(self):
        """Packets (decoded) from every frame sent since the last call; updates the CLCW."""
        out = []
        for f in self.space.tx:
            for vc, pkt in self.ground.read(f):
                out.append(unpack_tm(pkt))
        self.space.tx.clear()
        return out


_SN = [0]  # the ground's anti-replay sequence number (SPI 1): each transmission takes a fresh one
_LAB_MAC = sdls.HmacSha256(sdls.lab_key(1))


def _secure(frame, spi=1, mac=None, sn=None):
    """Authenticate a frame as the ground station does (laboratory key of SPI 1)."""
    if sn is None:
        _SN[0] += 1
        sn = _SN[0]
    return sdls.secure_tc_frame(frame, spi, sn, mac or _LAB_MAC)


def _ad(seq, packet):
    return cltu_encode(_secure(tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, seq, packet)))


def test_frames_flow_from_the_start_with_a_clcw():
    k = Link()
    k.run_ms(1100)
    tms = k.downlink()
    assert k.ground.frames >= 1 and k.ground.crc_errors == 0
    assert any(t.service == 5 for t in tms)  # the boot event came down
    assert clcw_mod.report_value(k.ground.clcw) == 0 and clcw_mod.vcid(k.ground.clcw) == mdb.TC_VCID


def test_ad_frames_in_sequence_are_executed_and_acknowledged():
    k = Link()
    for seq in range(3):
        k.uplink(_ad(seq, pack_tc(0x010, seq + 1, 17, 1)))
    tms = k.downlink()
    assert len([t for t in tms if t.service == 17 and t.subtype == 2]) == 3
    assert clcw_mod.report_value(k.ground.clcw) == 3
    assert k.app.link.frames_accepted == 3


def test_duplicate_and_gap_frames_not_executed():
    k = Link()
    k.uplink(_ad(0, pack_tc(0x010, 1, 17, 1)))
    k.uplink(_ad(0, pack_tc(0x010, 1, 17, 1)))  # duplicate: discarded
    k.uplink(_ad(2, pack_tc(0x010, 3, 17, 1)))  # ahead of V(R) = 1: discarded, retransmit flagged
    tms = k.downlink()
    assert len([t for t in tms if t.service == 17]) == 1
    assert clcw_mod.report_value(k.ground.clcw) == 1 and clcw_mod.retransmit(k.ground.clcw) == 1
    k.uplink(_ad(1, pack_tc(0x010, 2, 17, 1)))
    k.uplink(_ad(2, pack_tc(0x010, 3, 17, 1)))
    assert len([t for t in k.downlink() if t.service == 17]) == 2


def test_lockout_and_unlock():
    k = Link()
    k.uplink(_ad(100, pack_tc(0x010, 1, 17, 1)))  # far outside the window: lockout
    k.downlink()
    assert clcw_mod.lockout(k.ground.clcw) == 1
    k.uplink(cltu_encode(tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_BC, 0, UNLOCK)))
    k.downlink()
    assert clcw_mod.lockout(k.ground.clcw) == 0


def test_bypass_frame_and_bare_frame_accepted():
    k = Link()
    k.uplink(_secure(tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_BD, 0, pack_tc(0x020, 1, 17, 1))))  # no CLTU
    tms = k.downlink()
    assert [t.apid for t in tms if t.service == 17] == [0x020]
    assert clcw_mod.farm_b_counter(k.ground.clcw) == 1


def test_foreign_and_corrupt_frames_rejected_and_counted():
    k = Link()
    k.uplink(cltu_encode(tc_frame(0x123, mdb.TC_VCID, FRAME_AD, 0, pack_tc(0x010, 1, 17, 1))))
    bad = bytearray(tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, 0, pack_tc(0x010, 1, 17, 1)))
    bad[-1] ^= 1
    k.uplink(bytes(bad))
    assert k.app.link.frames_rejected == 2 and k.app.link.frames_accepted == 0
    tms = k.downlink()
    assert not [t for t in tms if t.service == 17]
    ev = mdb.event("EV_FRAME_REJECTED")[0]
    reasons = [t.app_data[2] for t in tms if t.service == 5 and (t.app_data[0] << 8 | t.app_data[1]) == ev]
    assert reasons == [REJECT_SCID]  # the second rejection within the same second is counted, not reported


def test_garbage_never_stops_the_payload():
    k = Link()
    lab = k.hal.links["lab"]
    x = 12345
    for i in range(60):
        n = 1 + i % 40
        buf = bytearray(n)
        for j in range(n):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            buf[j] = (x >> 16) & 0xFF
        if i % 3 == 0:
            buf[0:2] = b"\xeb\x90"
        k.space.rx.append(bytes(buf))
        lab.rx.append(bytes(buf))
        k.run_ms(5)
    k.downlink()
    k.uplink(_ad(0, pack_tc(0x010, 1, 17, 1)), ms=200)
    assert [t.service for t in k.downlink() if t.service == 17] == [17]


def test_stream_links_frame_with_asm_and_split_lab_packets():
    hal = FakeHal()
    hal.links["space"].is_stream = True
    hal.links["lab"].is_stream = True
    app = PayloadApp(hal)
    app.start()
    a = pack_tc(0x010, 1, 17, 1)
    b = pack_tc(0x020, 2, 17, 1)
    blob = b"\x00\x00" + a + b  # two stray octets, then two packets in odd-sized chunks
    lab = hal.links["lab"]
    lab.rx.extend([blob[0:5], blob[5:17], blob[17:]])
    i = 0
    while i < 1100:
        app.step()
        hal.clock.advance(1000)
        i += 1
    assert app.link.lab_packets_in == 2
    pings = [unpack_tm(p) for p in lab.tx]
    assert [t.apid for t in pings if t.service == 17] == [0x010, 0x020]
    frames = hal.links["space"].tx
    assert frames and all(f[:4] == b"\x1a\xcf\xfc\x1d" and len(f) == 4 + mdb.TM_FRAME_LEN for f in frames)


def _sec_events(tms):
    ev = mdb.event("EV_SEC_REJECTED")[0]
    return [t.app_data[2:] for t in tms if t.service == 5 and (t.app_data[0] << 8 | t.app_data[1]) == ev]


def test_forged_replayed_and_unsigned_frames_never_reach_the_router_nor_the_farm():
    k = Link()
    k.run_ms(1100)
    k.downlink()
    routed = k.app.router.packets_routed
    ping = pack_tc(0x010, 1, 17, 1)
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, 0, ping)
    k.uplink(cltu_encode(_secure(plain, mac=sdls.HmacSha256(b"\x55" * 32))), ms=1100)  # wrong key
    good = cltu_encode(_secure(plain))
    k.uplink(good)
    assert k.app.router.packets_routed == routed + 1
    k.uplink(good, ms=1100)  # the very same frame again: a replay
    k.uplink(cltu_encode(plain), ms=1100)  # not authenticated at all
    k.uplink(cltu_encode(_secure(plain, spi=3, mac=_LAB_MAC)), ms=1100)  # SPI 3 with SPI 1's key
    tms = k.downlink()
    assert k.app.router.packets_routed == routed + 1  # only the genuine frame ran
    assert clcw_mod.report_value(k.ground.clcw) == 1  # and only it moved V(R)
    s = k.app.link.sdls
    assert (s.bad_mac, s.replayed, s.accepted) == (2, 1, 1)
    assert s.truncated + s.bad_spi == 1
    reasons = [a[0] for a in _sec_events(tms)]
    assert reasons[0] == sdls.SEC_BAD_MAC and sdls.SEC_REPLAY in reasons
    spi_of_first = _sec_events(tms)[0][1] << 8 | _sec_events(tms)[0][2]
    assert spi_of_first == 1


def test_flight_configuration_closes_the_lab_port_and_requires_authentication():
    from payload.link import FLIGHT_CONFIG

    hal = FakeHal()
    app = PayloadApp(hal, **FLIGHT_CONFIG)
    app.start()
    assert app.link.lab_enabled is False and app.link.tc_auth is True
    hal.links["lab"].rx.append(pack_tc(0x010, 1, 17, 1))
    i = 0
    while i < 100:
        app.step()
        hal.clock.advance(1000)
        i += 1
    assert app.link.lab_packets_in == 0 and app.router.packets_routed == 0
