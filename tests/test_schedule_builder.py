"""The ground's TC[11,4] builder (ground_segment/schedule.py) against the layout, its limits and the
flight schedule itself; the pass plans built with it (sim/scenarios.py, sim/pass_plan.py)."""

import struct

import pytest

from bus import mdb
from ground_segment.commanding import CommandError, arm_args_for_packet, build_tc
from ground_segment.mdb_decode import ScheduleReport, Verification, decode_bytes
from ground_segment.schedule import MAX_ACTIVITIES, ScheduleError, cds, insert_data, time_tag
from payload import s11_schedule
from sim.scenarios import get_scenario
from tests.flight.payload.ground_stub import Bench

T0 = 1619546346.0  # 2021-04-27T17:59:06Z
DAYS = 4383 + 18744  # its CDS day
MS = (17 * 3600 + 59 * 60 + 6) * 1000


def test_cds_of_unix_time():
    assert cds(0.0) == (4383, 0)
    assert cds(T0) == (DAYS, MS)
    assert cds(T0 + 0.0004) == (DAYS, MS) and cds(T0 + 0.0006) == (DAYS, MS + 1)  # to the nearest ms
    with pytest.raises(ScheduleError, match="CDS range"):
        cds(-4383 * 86400.0 - 1.0)  # before 1958


def test_activity_layout_byte_for_byte():
    tagged = time_tag([(T0 + 2.5, "SYNC_LASER", {"on": 1}), (T0 + 1.0, "SRC_MODE", {"mode": 1})],
                      first_seq_count=40)
    assert [(t.name, t.seq_count) for t in tagged] == [("SRC_MODE", 40), ("SYNC_LASER", 41)]  # release order
    assert tagged[0].packet == build_tc("SRC_MODE", {"mode": 1}, seq_count=40)
    (data,) = insert_data(tagged)
    assert data[0] == 2  # N
    assert data[1] == 0x40  # P-field: CDS, 1958 epoch, 16-bit day, no sub-ms
    assert struct.unpack(">HI", data[2:8]) == (DAYS, MS + 1000)
    n0 = len(tagged[0].packet)
    assert data[8:8 + n0] == tagged[0].packet
    assert data[8 + n0] == 0x40 and struct.unpack(">HI", data[9 + n0:15 + n0]) == (DAYS, MS + 2500)
    assert data[15 + n0:] == tagged[1].packet


def test_more_than_the_on_board_schedule_holds_is_refused_before_sending():
    assert MAX_ACTIVITIES == mdb.SCHEDULE_MAX_ACTIVITIES == s11_schedule.MAX_ACTIVITIES == 16
    acts = [(T0 + i, "MGR_NOOP", {}) for i in range(17)]
    with pytest.raises(ScheduleError, match="17 time-tagged commands, but the on-board schedule has room for 16"):
        time_tag(acts)
    assert len(time_tag(acts[:16])) == 16
    with pytest.raises(ScheduleError, match="room for 3"):
        time_tag(acts[:4], free_slots=3)
    with pytest.raises(CommandError, match="unknown command"):
        time_tag([(T0, "WARP_DRIVE", {})])
    with pytest.raises(CommandError, match="outside 0..1"):
        time_tag([(T0, "SYNC_LASER", {"on": 2})])


def test_split_into_packets_that_fit_the_link():
    tagged = time_tag([(T0 + i, "APT_START", {"beam": i % 2}) for i in range(16)])
    one = insert_data(tagged)
    assert len(one) == 1 and len(build_tc("SCHED_INSERT", {"data": one[0].hex()}, 1)) <= mdb.TC_PACKET_MAX_LEN
    small = insert_data(tagged, max_packet_len=120)
    assert len(small) > 1
    assert sum(d[0] for d in small) == 16
    assert all(len(build_tc("SCHED_INSERT", {"data": d.hex()}, 1)) <= 120 for d in small)
    assert b"".join(d[1:] for d in small) == one[0][1:]  # the same activities, in the same order
    with pytest.raises(ScheduleError, match="does not fit a TC"):
        insert_data(tagged, max_packet_len=30)


def test_the_payload_releases_what_the_builder_inserts():
    """A three-activity schedule in two TC[11,4] packets: stored, listed back as sent, released at its
    times (completion reports within one 50 ms schedule tick), the schedule empty afterwards."""
    b = Bench()
    b.tc("TIME_SET", DAYS, MS)
    acts = [(T0 + 0.5, "SRC_PING", {}), (T0 + 1.0, "APT_NOOP", {}), (T0 + 1.2, "MGR_NOOP", {})]
    tagged = time_tag(acts, first_seq_count=100)
    chunks = insert_data(tagged, max_packet_len=60)
    assert len(chunks) == 2
    b.lab.tx.clear()
    for i, d in enumerate(chunks):
        b.send_raw(build_tc("SCHED_INSERT", {"data": d.hex()}, seq_count=10 + i), ms=0)
    b.run_ms(60)
    assert b.app.schedule.count == 3
    b.tc("SCHED_LIST")
    reports = [r for p in b.lab.tx for r in decode_bytes(p) if isinstance(r, ScheduleReport)]
    listed = sorted(reports[0].activities, key=lambda a: a.t_unix)
    assert [(a.t_unix, a.seq_count) for a in listed] == [(t.release_unix, t.seq_count) for t in tagged]
    done = {}
    clock = b.hal.clock
    t_set_ms = 0  # TIME_SET ran in the first step, at the clock's start
    while clock.ticks_ms() < 1500:
        b.lab.tx.clear()
        b.run_ms(10)
        for p in b.lab.tx:
            for r in decode_bytes(p):
                if isinstance(r, Verification) and r.stage == "completion":
                    assert r.success
                    done[r.seq_count] = (clock.ticks_ms() - t_set_ms) / 1000.0
    for t in tagged:
        assert 0.0 <= done[t.seq_count] - (t.release_unix - T0) <= 0.06, (t.name, done)  # one 20 Hz tick
    assert b.app.schedule.count == 0 and b.app.schedule.released == 3


def test_the_micius_pass_plan_goes_up_as_immediate_uploads_and_one_schedule():
    plan = get_scenario("micius-2020").plan()
    names = [n for _, n, _ in plan.uplink]
    assert names[:3] == ["TIME_SET", "HAZ_ARM", "SCHED_INSERT"] and names.count("SCHED_INSERT") == 1
    assert set(names[3:]) == {"APT_EPHEM_BEGIN", "APT_EPHEM_POINTS", "APT_EPHEM_COMMIT"}
    # the insert carries hazardous activities: the HAZ_ARM before it arms exactly that packet
    packets = [pkt for _, pkt in plan.commands()]
    assert plan.uplink[1][2] == arm_args_for_packet(packets[2])
    assert max(t for t, _, _ in plan.uplink) <= 1.0  # all before the first release
    acts = [(n, a) for _, n, a in plan.schedule]
    assert len(acts) <= MAX_ACTIVITIES
    assert ("SRC_MODE", {"mode": 1}) in acts and ("SYNC_LASER", {"on": 1}) in acts
    assert {a["beam"] for n, a in acts if n == "APT_START"} == {0, 1} == {a["beam"] for n, a in acts if n == "APT_STOP"}
    times = [t for t, _, _ in plan.schedule]
    assert times == sorted(times) and times[0] > 0.0 and times[-1] < plan.duration_s
    # the emission window is the common view
    c0, c1 = plan.emission_window_s
    assert c0 == pytest.approx(plan.common_pass.start_unix - plan.t0_unix)
    assert c1 - c0 == pytest.approx(plan.common_pass.duration_s)
    # the TC[11,4] carries exactly the schedule, numbered after the immediate packets
    pkt = dict((n, p) for (t, p), (_, n, _) in zip(plan.commands(), plan.uplink))["SCHED_INSERT"]
    data = pkt[11:-2]
    assert data[0] == len(plan.schedule)
    pos, seqs = 1, []
    for (t, name, args), seq in zip(plan.schedule, plan.schedule_seq_counts()):
        assert data[pos] == 0x40 and struct.unpack(">HI", data[pos + 1:pos + 7]) == cds(plan.t0_unix + t)
        n = struct.unpack(">H", data[pos + 11:pos + 13])[0] + 7
        assert data[pos + 7:pos + 7 + n] == build_tc(name, args, seq_count=seq)
        seqs.append(seq)
        pos += 7 + n
    assert pos == len(data) and seqs[0] == len(plan.uplink) + 1


def test_consecutive_passes():
    sc = get_scenario("micius-2020")
    passes = sc.common_passes(3)
    assert len(passes) == 3 and passes[0].start_unix < passes[1].start_unix < passes[2].start_unix
    second = sc.plan(pass_index=1)
    assert second.t0_unix == pytest.approx(passes[1].start_unix - sc.lead_s)
    assert second.common_pass == passes[1]
    with pytest.raises(ValueError, match="pass_index"):
        sc.plan(pass_index=-1)


def test_bench_scenarios_keep_immediate_commands():
    plan = get_scenario("cubesat-bench").plan()
    assert plan.schedule == () and plan.geometry is None and plan.emission_window_s is None
    assert all(t == 0.0 for t, _, _ in plan.uplink) and plan.uplink[-1][1:] == ("SRC_MODE", {"mode": 1})



def test_later_passes_start_warm_on_the_set_point_found():
    from sim.scenarios import WARM_LEAD_S, warm

    sc = get_scenario("micius-2020")
    w = warm(sc, 297_144)
    plan = w.plan(pass_index=1)
    names = [(n, a) for _, n, a in plan.schedule]
    assert ("PARAM_SET", {"pid": mdb.parameter("crystal_set_point_mk")[0], "value": 297_144}) in names
    assert ("PARAM_SET", {"pid": mdb.parameter("autotune_on_ready")[0], "value": 0}) in names
    sweep = [t for t, n, _ in plan.schedule if n == "SRC_RETARDER_SWEEP"]
    assert len(sweep) == 1 and sweep[0] < plan.emission_window_s[0]
    assert plan.emission_window_s[0] == WARM_LEAD_S
    assert plan.common_pass == sc.common_passes(2)[1]
