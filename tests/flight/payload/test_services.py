"""On-board PUS services through the lab port: verification, 17, 8, 20, 3, 9, bad input."""

import struct

from bus import mdb
from bus.pus import pack_tc, INCORRECT_CRC, INCOMPLETE
from tests.flight.payload.ground_stub import Bench, of, failure_code, event_ids


def test_every_application_answers_ping_with_verification():
    b = Bench()
    for name, apid in (("MGR_PING", 0x010), ("SRC_PING", 0x020), ("APT_PING", 0x030), ("FDIR_PING", 0x040)):
        tms = b.tc(name)
        assert [(t.service, t.subtype) for t in tms if t.service in (1, 17)] == [(1, 1), (1, 3), (17, 2), (1, 7)]
        assert all(t.apid == apid for t in tms if t.service in (1, 17))


def test_success_reports_follow_ack_flags():
    b = Bench()
    tms = b.tc("MGR_PING", ack=0)
    assert [(t.service, t.subtype) for t in tms if t.service in (1, 17)] == [(17, 2)]
    tms = b.tc("MGR_PING", ack=0b1000)
    assert [(t.service, t.subtype) for t in tms if t.service in (1, 17)] == [(17, 2), (1, 7)]


def test_request_id_quoted_in_reports():
    b = Bench()
    tms = b.tc("SRC_NOOP")
    acc = of(tms, 1, 1)[0]
    pid, psc = struct.unpack(">HH", acc.app_data[:4])
    assert pid == 0x1800 | 0x020 and psc == 0xC000 | b.seq


def test_noop_counts_and_reset_clears():
    b = Bench()
    b.tc("APT_NOOP")
    b.tc("APT_NOOP")
    assert b.app.pointing_app.cmd_accepted == 2
    tms = b.tc("APT_RESET_COUNTERS")
    assert b.app.pointing_app.cmd_accepted == 0 and of(tms, 1, 7)
    assert mdb.event("EV_APT_RESET")[0] in event_ids(tms)


def test_unknown_apid_service_function_rejected_with_codes():
    b = Bench()
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x055, 1, 17, 1))
    fails = of(b.received(), 1, 2)
    assert len(fails) == 1 and failure_code(fails[0]) == mdb.FAIL_ILLEGAL_APID and fails[0].apid == 0x010
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x020, 2, 99, 1))
    assert failure_code(of(b.received(), 1, 2)[0]) == mdb.FAIL_ILLEGAL_SUBTYPE
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x020, 3, 8, 1, b"\x77"))
    assert failure_code(of(b.received(), 1, 2)[0]) == mdb.FAIL_ILLEGAL_FUNCTION
    assert b.app.source_app.cmd_rejected == 2
    assert b.app.router.packets_rejected == 3


def test_wrong_length_rejected_before_the_handler():
    b = Bench()
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x030, 5, 8, 1, b"\x02\x00"))  # APT_FINE_ENABLE needs beam and on
    tms = b.received()
    assert failure_code(of(tms, 1, 2)[0]) == mdb.FAIL_LENGTH
    assert mdb.event("EV_APT_LENGTH")[0] in event_ids(tms)
    ev = [t for t in tms if t.service == 5 and struct.unpack(">H", t.app_data[:2])[0] == mdb.event("EV_APT_LENGTH")[0]][0]
    assert struct.unpack(">HH", ev.app_data[2:6]) == (3, 2)  # expected, actual
    assert b.app.beams[0].enabled  # nothing changed


def test_corrupt_and_truncated_packets_reported():
    b = Bench()
    good = bytearray(pack_tc(0x010, 9, 17, 1))
    good[-1] ^= 0xFF
    b.lab.tx.clear()
    b.send_raw(bytes(good))
    fails = of(b.received(), 1, 2)
    assert failure_code(fails[0]) == INCORRECT_CRC
    b.lab.tx.clear()
    b.send_raw(bytes(good[:8]))
    assert failure_code(of(b.received(), 1, 2)[0]) == INCOMPLETE
    b.lab.tx.clear()
    b.send_raw(b"\x01")  # not even a request ID: counted, no report possible
    assert not of(b.received(), 1, 2)
    assert b.app.router.packets_rejected == 3
    assert of(b.tc("MGR_PING"), 17, 2)  # and the payload still answers


def test_argument_out_of_range_rejected():
    b = Bench()
    tms = b.tc("APT_FINE_ENABLE", 5, 1)  # beam 5 does not exist
    assert failure_code(of(tms, 1, 2)[0]) == mdb.FAIL_ARG_RANGE


def test_fine_enable_command_acts():
    b = Bench()
    tms = b.tc("APT_FINE_ENABLE", 1, 0)
    assert of(tms, 1, 7) and not b.app.beams[1].enabled and b.app.beams[0].enabled
