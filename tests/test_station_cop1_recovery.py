"""The ground station's FOP-1 recovers from alerts without losing or repeating a command.

The real ``GroundStation`` (ground_segment/station.py: FOP-1, SDLS signing per transmission,
CLTU) and the real payload application on the fake HAL are wired back to back in one process
(tests/space_link_pair.py, as in tests/test_sdls_ground.py), but through ``sim.link_impairments.LinkImpairments`` in each
direction: 20 % frame loss, bit errors, and on the uplink duplication and re-ordering.  Time
is virtual (the station's clock is the HAL's), nothing sleeps.  An outage longer than
T1 x transmission limit forces a T1 alert: the FOP purges its queues, the station restarts the
AD service on the next CLCW and hands the FOP again the commands the FARM had not accepted.
Every command must reach the payload's TC router exactly once and no command may end twice
on the ground; every command whose completion report got through the lossy downlink ends
"completed".
"""

import collections

from bus import clcw as clcw_mod
from bus import fop as fop_mod
from ground_segment.commanding import CommandError
from ground_segment.station import TRANSMISSION_LIMIT
from sim.link_impairments import LinkImpairments
from tests.space_link_pair import SpaceLinkPair, Writer

STEP_MS = 5
UPLINK_BPS = 4000
DOWNLINK_BPS = 1_000_000
DELAY_MS = 5


class StationRun(SpaceLinkPair):
    def __init__(self, tmp_path, n, seed, outages=(), transmission_limit=TRANSMISSION_LIMIT):
        uplink = LinkImpairments(seed=seed, loss=0.2, ber=1e-5, duplicate=0.02, reorder=0.02,
                                 reorder_depth=(1, 3), outages=outages, delay_ms=DELAY_MS,
                                 rate_bps=UPLINK_BPS, name="uplink")
        downlink = LinkImpairments(seed=seed + 1000, loss=0.2, ber=1e-5, outages=outages, delay_ms=DELAY_MS,
                                   rate_bps=DOWNLINK_BPS, name="downlink")
        super().__init__(tmp_path, uplink, downlink, virtual_station=True, transmission_limit=transmission_limit)
        self.n = n
        self.executed = collections.Counter()  # (APID, seq count) of each TC routed on board
        router = self.app.router
        accept = router.accept

        def recording_accept(buf, n, offset=0, *rest):
            self.executed[(((buf[offset] & 0x07) << 8) | buf[offset + 1],
                           ((buf[offset + 2] & 0x3F) << 8) | buf[offset + 3])] += 1
            return accept(buf, n, offset, *rest)

        router.accept = recording_accept
        self.cmds = []  # (PendingCommand, Writer)
        self.restart_vrs = []

    def step(self, ms=STEP_MS):
        self.exchange()
        gs = self.gs
        fop = gs.fop
        while (len(self.cmds) < self.n and fop.state <= fop_mod.RETRANSMIT_WITH_WAIT and fop.wait_queue is None
               and not gs._resend):
            w = Writer()
            try:
                cmd = gs.send_command("MGR_PING", {}, writer=w, timeout_s=1e6)
            except CommandError:
                break
            self.cmds.append((cmd, w))
        self.advance(ms)

    def all_accepted(self):
        gs = self.gs
        return (len(self.cmds) == self.n and gs.fop.state == fop_mod.ACTIVE and not gs.fop.sent_queue
                and not gs._resend and gs.fop.wait_queue is None)

    def run(self, max_virtual_s):
        while not self.all_accepted() and self.now_ms < max_virtual_s * 1000:
            self.step()
        for _ in range(2000 // STEP_MS):  # the last reports come down
            self.step()
        return self

    def figures(self):
        c = self.gs.counters
        done = [w.lines for _, w in self.cmds]
        return {"commands": len(self.cmds), "virtual_s": self.now_ms / 1000, "alerts": list(self.gs.fop.alerts),
                "restarts": c["restarts"], "resent": c["resent"], "resend_dropped": c["resend_dropped"],
                "stale_clcws": c["stale_clcws"], "tc_frames_sent": c["tc_frames_sent"],
                "tc_frames_signed": c["tc_frames_signed"],
                "executed_once": sum(1 for cmd, _ in self.cmds if self.executed[(cmd.apid, cmd.seq_count)] == 1),
                "completed": sum(1 for d in done if d and d[-1] == {"event": "done", "success": True,
                                                                     "reason": "completed"}),
                "uplink": self.uplink.stats(), "downlink": self.downlink.stats(),
                "bad_mac": self.app.link.sdls.bad_mac}

    def check(self):
        ours = {(cmd.apid, cmd.seq_count) for cmd, _ in self.cmds}
        assert len(ours) == self.n
        twice = [k for k in ours if self.executed[k] != 1]
        assert not twice, "not executed exactly once on board: %r" % [(k, self.executed[k]) for k in twice][:10]
        for cmd, w in self.cmds:
            dones = [m for m in w.lines if m["event"] == "done"]
            assert len(dones) <= 1, (cmd.seq_count, dones)
            completions = [m for m in w.lines if m["event"] == "stage" and m["stage"] == "completion"]
            if completions:  # its completion report crossed the lossy downlink
                assert dones == [{"event": "done", "success": True, "reason": "completed"}], (cmd.seq_count, w.lines)
            else:
                assert not cmd.done and not dones
        assert self.app.link.sdls.bad_mac == 0


def test_outage_alert_recovered_every_command_once(tmp_path):
    # uplink and downlink both dark for 25 s > T1 x limit (2 s x 10): the FOP alerts T1
    r = StationRun(tmp_path, 300, seed=7, outages=[(30_000, 55_000)]).run(max_virtual_s=600)
    f = r.figures()
    print("\nstation COP-1 recovery, outage (300 TCs):", f)
    r.check()
    assert r.gs.fop.transmission_limit == TRANSMISSION_LIMIT == 10
    assert fop_mod.ALERT_T1 in f["alerts"] and f["restarts"] == len(f["alerts"]) and f["resent"] >= 1
    assert f["executed_once"] == 300 and f["completed"] >= 200
    assert f["uplink"]["lost"] > 0.15 * f["uplink"]["sent"]


def test_transmission_limit_three_many_alerts_recovered(tmp_path):
    # bus.fop's default limit of 3: alerts at 20 % loss each way without any outage
    r = StationRun(tmp_path, 300, seed=3, transmission_limit=fop_mod.DEFAULT_TRANSMISSION_LIMIT).run(600)
    f = r.figures()
    print("\nstation COP-1 recovery, transmission limit 3 (300 TCs):", f)
    r.check()
    assert len(f["alerts"]) >= 1 and f["restarts"] == len(f["alerts"]) and f["resent"] >= 1
    assert f["executed_once"] == 300


def test_stale_clcw_does_not_restart(tmp_path):
    r = StationRun(tmp_path, 20, seed=5)
    r.run(max_virtual_s=120)
    gs = r.gs
    assert gs._base_ns >= 20 and not gs._unacked
    vs = gs.fop.vs
    gs.fop.terminate(r.now_ms)  # an alert (TERM): the service restarts on the next CLCW
    word = gs.clcw
    stale = (word & ~0xFF) | ((clcw_mod.report_value(word) - 3) & 0xFF)  # V(R) 3 behind: re-ordered TM
    gs.frames.clcw = stale
    gs._start_ad(stale)
    assert gs.fop.state == fop_mod.INITIAL and gs.counters["stale_clcws"] == 1
    gs._start_ad(word)  # the current one restarts it
    assert gs.fop.state == fop_mod.ACTIVE and gs.fop.vs == vs and gs.counters["restarts"] == 1
