"""COP-1 over an impaired link: every telecommand executed exactly once and in order (issue 7).

The ground's FOP-1 (``bus/fop.py``, started and restarted as ``ground_segment/station.py``
does: on a CLCW, adopting the FARM's V(R), Unlock after a lockout) sends each command in a
Type-AD frame inside a CLTU (``bus/cltu.py``) over an impaired uplink
(``sim/link_impairments.py``: loss, bit errors, duplication, re-ordering, outages) to the
flight's real ``payload.link.LinkStack`` (CLTU decoder, TC frame reader, FARM-1) on a fake
HAL.  The TM frames it sends back, each with the CLCW in its OCF, cross an impaired downlink
to the ground's ``TmFrameReader`` and the CLCW goes to FOP-1.  Time is virtual: the HAL clock
and the FOP's ``now_ms`` advance together in 10 ms steps, nothing sleeps.

What reaches the TC router is recorded (the command index carried in each packet's
application data, the packet checked by ``bus.pus.TcPacketReader``): it must be 0, 1, ..., N-1
exactly.  After an alert (expected only in the outage variant) the ground recovers per COP-1:
the FOP's queues are purged (232.1-B-2 §5.2.2.7), the AD service restarts on the next CLCW
with V(S) := N(R), and the commands the FARM had not accepted (N(S) >= N(R)) are handed to
the FOP again.  Commands keep the N(S) they had, so a late copy of a purged frame that
reaches the FARM after the restart carries the same command as its retransmission.

Uplink: 4 kbit/s (a common S-band TC rate), downlink 1 Mbit/s, 5 ms one way.  The FOP's
window K and T1 are the station's defaults (10, 2 s); its transmission limit is raised from
the default 3 to 10 (see ``TRANSMISSION_LIMIT``).
"""

import struct
import time

from bus import clcw as clcw_mod
from bus import fop as fop_mod
from bus import mdb
from bus.cltu import cltu_encode
from bus.pus import TcPacketReader, pack_tc
from bus.tm_frame import TmFrameReader
from hal.fake import FakeHal
from payload.link import LinkStack
from sim.link_impairments import LinkImpairments

STEP_MS = 10  # virtual time step of the harness
POLL_MS = 50  # LinkStack.poll period: the payload's 20 Hz comms rate group
UPLINK_BPS = 4000
DOWNLINK_BPS = 1_000_000
DELAY_MS = 5
# With 20 % frame loss on each direction a frame and its acknowledgement both get through
# with p = 0.64, so a frame needs more than 3 transmissions (the FOP's default limit) with
# probability 0.36**3 = 4.7 %: thousands of T1 alerts in 10,000 commands.  At 10 the
# probability is 0.36**10 = 3.7e-5 per frame episode and an alert-free run is the rule.
TRANSMISSION_LIMIT = 10
CMD_APID = 0x010


class _RecordingRouter:
    """Stands in for payload.tc_router.TcRouter: checks each packet, records its command index."""

    def __init__(self):
        self.reader = TcPacketReader()
        self.executed = []  # command indices in the order received
        self.bad = 0  # packets failing the PUS checks (a corrupted frame got through)

    def accept(self, buf, n, offset=0):
        r = self.reader
        code = r.parse(buf, n, offset)
        if code or r.apid != CMD_APID:
            self.bad += 1
            return code or 1
        d = offset + n - 2 - 4  # the 4-octet index sits just before the packet error control
        self.executed.append(struct.unpack_from(">I", buf, d)[0])
        return 0


class _TmOut:
    def __init__(self):
        self.sinks = []


def command(i):
    """Command ``i``: TC[17,1] carrying its index (the TC router records it)."""
    return pack_tc(CMD_APID, i & 0x3FFF, 17, 1, struct.pack(">I", i))


class Cop1Run:
    """Ground FOP-1 -> CLTU -> impaired uplink -> LinkStack -> TM/CLCW -> impaired downlink -> FOP-1."""

    def __init__(self, n_commands, uplink, downlink, transmission_limit=TRANSMISSION_LIMIT,
                 t1_ms=fop_mod.DEFAULT_T1_MS, window=fop_mod.DEFAULT_WINDOW):
        self.n = n_commands
        self.uplink = uplink
        self.downlink = downlink
        self.hal = FakeHal()
        self.space = self.hal.links["space"]
        self.router = _RecordingRouter()
        self.link = LinkStack(self.hal, self.router, _TmOut(), events=None, lab_enabled=False)
        self.tm = TmFrameReader(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN)
        self.fop = fop_mod.Fop1(mdb.SPACECRAFT_ID, mdb.TC_VCID, send=self._send, window=window, t1_ms=t1_ms,
                                transmission_limit=transmission_limit, on_alert=self._on_alert)
        self.now_ms = 0
        self.next_cmd = 0  # next command to hand to the FOP
        self.high_cmd = 0  # commands ever handed to the FOP (next_cmd rewinds after an alert)
        self.base_cmd = 0  # oldest command not acknowledged ...
        self.base_ns = 0  # ... and its N(S) (the FOP's NN(R) while the AD service runs)
        self.alerts = []  # (now_ms, reason, NN(R), commands acknowledged)
        self.restarts = 0
        self.stale_clcws = 0  # restart CLCWs refused as older than the FOP's NN(R)
        self.requeued = 0  # purged commands handed to the FOP again after restarts
        self._needs_unlock = False

    # -- ground -------------------------------------------------------------------------
    def _send(self, frame):
        self.uplink.send(cltu_encode(frame), self.now_ms)

    def _on_alert(self, reason):
        self.alerts.append((self.now_ms, reason, self.fop.nnr, self.base_cmd))
        self._needs_unlock = reason == fop_mod.ALERT_LOCKOUT
        # Purged (232.1-B-2 §5.2.2.7): everything from base_cmd on is unconfirmed; which of it the
        # FARM took is known from the CLCW that restarts the service (``_start_ad``).

    def _start_ad(self, word):
        """As ground_segment/station.py: adopt the FARM's V(R); Unlock first after a lockout."""
        vr = clcw_mod.report_value(word)
        if self.alerts:
            taken = (vr - self.base_ns) & 0xFF  # purged frames the FARM had accepted
            if taken > self.high_cmd - self.base_cmd:
                # V(R) behind NN(R): a CLCW older than the one the FOP last used (a re-ordered TM
                # frame); the FARM's V(R) never decreases, so wait for a current one.
                self.stale_clcws += 1
                return
            self.base_cmd += taken
            self.requeued += self.next_cmd - self.base_cmd
            self.next_cmd = self.base_cmd
            self.restarts += 1
        else:
            self.base_cmd = self.next_cmd = 0
        self.base_ns = vr
        self.fop.set_vs(vr)
        if clcw_mod.lockout(word) or self._needs_unlock:
            self.fop.initiate_ad(self.now_ms, fop_mod.INIT_WITH_UNLOCK)
            self._needs_unlock = False
        else:
            self.fop.initiate_ad(self.now_ms, fop_mod.INIT_WITHOUT_CLCW)

    def _ground_rx(self):
        fop = self.fop
        for frame in self.downlink.receive(self.now_ms):
            before = self.tm.frames
            self.tm.read(frame)
            if self.tm.frames == before or self.tm.clcw is None:
                continue  # failed its FECF (or length, SCID): discarded
            if fop.state == fop_mod.INITIAL:
                self._start_ad(self.tm.clcw)
            else:
                fop.clcw(self.tm.clcw, self.now_ms)
                self.base_cmd += (fop.nnr - self.base_ns) & 0xFF  # acknowledged (an alert keeps NN(R))
                self.base_ns = fop.nnr

    def _ground_tx(self):
        fop = self.fop
        while self.next_cmd < self.n and fop.state <= fop_mod.RETRANSMIT_WITH_WAIT and fop.wait_queue is None:
            if fop.transmit_ad(command(self.next_cmd), self.now_ms) == fop_mod.AD_REJECTED:
                break
            self.next_cmd += 1
            if self.next_cmd > self.high_cmd:
                self.high_cmd = self.next_cmd

    # -- the run ------------------------------------------------------------------------
    def done(self):
        return self.base_cmd >= self.n and self.fop.state == fop_mod.ACTIVE and not self.fop.sent_queue

    def run(self, max_virtual_s=None):
        limit_ms = int((max_virtual_s if max_virtual_s is not None else self.n * 2 + 120) * 1000)
        next_poll = 0
        space = self.space
        while not self.done() and self.now_ms < limit_ms:
            self._ground_rx()
            self.fop.tick(self.now_ms)
            self._ground_tx()
            for cltu in self.uplink.receive(self.now_ms):
                space.rx.append(cltu)
            if self.now_ms >= next_poll:
                self.link.poll()
                next_poll += POLL_MS
                for f in space.tx:
                    self.downlink.send(f, self.now_ms)
                space.tx.clear()
            self.now_ms += STEP_MS
            self.hal.clock.advance(STEP_MS * 1000)
        return self

    def figures(self):
        link = self.link
        return {
            "commands": self.n, "executed": len(self.router.executed), "virtual_s": self.now_ms / 1000,
            "frames_sent": self.fop.frames_sent, "retransmissions": self.fop.retransmissions,
            "alerts": [a[1] for a in self.alerts], "restarts": self.restarts, "stale_clcws": self.stale_clcws,
            "requeued": self.requeued,
            "uplink": self.uplink.stats(), "downlink": self.downlink.stats(),
            "bch_corrected_blocks": link.cltu.corrected_blocks, "bch_rejected_blocks": link.cltu.rejected_blocks,
            "cltu_incomplete": link.cltu.incomplete, "tc_frame_rejected": list(link.frame_reader.rejected),
            "farm_discarded": dict(zip(("no_buffer", "ahead", "duplicate", "out_of_window", "locked_out", "vcid",
                                        "invalid"), link.farm.discarded)),
            "tm_crc_errors": self.tm.crc_errors, "router_bad": self.router.bad,
        }


def impaired_uplink(seed, outages=()):
    return LinkImpairments(seed=seed, loss=0.2, ber=1e-5, duplicate=0.02, reorder=0.02, reorder_depth=(1, 3),
                           outages=outages, delay_ms=DELAY_MS, rate_bps=UPLINK_BPS, name="uplink")


def impaired_downlink(seed, outages=()):
    return LinkImpairments(seed=seed, loss=0.2, ber=1e-5, outages=outages, delay_ms=DELAY_MS,
                           rate_bps=DOWNLINK_BPS, name="downlink")


def run_impaired(n, seed, outages=(), transmission_limit=TRANSMISSION_LIMIT):
    t0 = time.perf_counter()
    r = Cop1Run(n, impaired_uplink(seed, outages), impaired_downlink(seed + 1000, outages),
                transmission_limit=transmission_limit).run()
    f = r.figures()
    f["wall_s"] = round(time.perf_counter() - t0, 2)
    return r, f


def _check_exactly_once(r):
    ex = r.router.executed
    assert r.router.bad == 0
    assert len(ex) == len(set(ex)), "a command reached the router twice"
    assert ex == list(range(r.n)), "commands lost or out of order: first difference at %d" % next(
        (i for i, (a, b) in enumerate(zip(ex, range(r.n))) if a != b), min(len(ex), r.n))


def test_channel_model_is_seeded_and_counts_what_it_does():
    a = LinkImpairments(seed=3, loss=0.2, ber=1e-3, duplicate=0.1, reorder=0.1)
    b = LinkImpairments(seed=3, loss=0.2, ber=1e-3, duplicate=0.1, reorder=0.1)
    frames = [bytes([i]) * 40 for i in range(200)]
    out_a, out_b = [], []
    for i, f in enumerate(frames):
        a.send(f, i)
        b.send(f, i)
        out_a += a.receive(i)
        out_b += b.receive(i)
    out_a += a.receive(10_000)
    out_b += b.receive(10_000)
    assert out_a == out_b
    s = a.stats()
    assert s["lost"] and s["corrupted"] and s["duplicated"] and s["reordered"]
    assert s["delivered"] == s["sent"] - s["lost"] + s["duplicated"] == len(out_a)
    clean = [f for f in out_a if f in frames]
    assert clean != sorted(clean)  # something overtook something


def test_outage_loses_everything_inside_it():
    ch = LinkImpairments(seed=1, outages=[(100, 200)], rate_bps=8000)  # 1 ms per octet
    for t in range(0, 300, 10):
        ch.send(b"x", t)
    assert ch.lost_outage == 10 and len(ch.receive(1000)) == 20


def test_ten_thousand_commands_exactly_once_in_order_over_an_impaired_link():
    r, f = run_impaired(10_000, seed=7)
    print("\nCOP-1 impaired (10,000 TCs):", f)
    _check_exactly_once(r)
    assert f["alerts"] == [], f["alerts"]
    up = f["uplink"]
    assert up["lost"] > 0.15 * up["sent"] and up["corrupted"] and up["duplicated"] and up["reordered"]
    assert f["bch_corrected_blocks"] > 0 and f["farm_discarded"]["duplicate"] > 0
    assert f["farm_discarded"]["out_of_window"] == 0 and f["farm_discarded"]["locked_out"] == 0


def test_outages_recovered_without_loss_or_duplication():
    outages = [(20_000, 25_000), (60_000, 90_000), (150_000, 152_000)]
    r, f = run_impaired(1_500, seed=11, outages=outages)
    print("\nCOP-1 impaired with outages (1,500 TCs):", f)
    _check_exactly_once(r)
    assert f["uplink"]["lost_outage"] > 0
    # the 30 s outage outlasts T1 x limit (20 s): the FOP alerts and the ground restarts the AD service
    assert fop_mod.ALERT_T1 in f["alerts"] and r.restarts >= 1


def test_station_default_transmission_limit_alerts_and_the_ground_recovers():
    # The station's FOP-1 default (transmission limit 3) under the same link: T1 alerts
    # (232.1-B-2 E17) purge the queues; restarting on the next CLCW and handing the FOP again
    # the commands the FARM had not accepted loses and repeats nothing.
    r, f = run_impaired(1_000, seed=7, transmission_limit=fop_mod.DEFAULT_TRANSMISSION_LIMIT)
    print("\nCOP-1 impaired, transmission limit 3 (1,000 TCs):", f)
    _check_exactly_once(r)
    assert fop_mod.ALERT_T1 in f["alerts"] and r.restarts == len(f["alerts"])


def test_reordering_beyond_the_negative_window_locks_out_and_unlock_recovers():
    # A frame held back by more than NW = W/2 = 10 frames arrives with N(S) in the lockout
    # area (232.1-B-2 §6.1.8.2, E5): FARM-1 locks out, FOP-1 alerts LOCKOUT, the ground
    # restarts with Unlock.  Still every command exactly once, in order.
    up = LinkImpairments(seed=1, loss=0.2, ber=1e-5, duplicate=0.02, reorder=0.05, reorder_depth=(8, 16),
                         delay_ms=DELAY_MS, rate_bps=UPLINK_BPS, name="uplink")
    r = Cop1Run(1_000, up, impaired_downlink(1001)).run()
    f = r.figures()
    print("\nCOP-1, re-ordering beyond NW (1,000 TCs):", f)
    _check_exactly_once(r)
    assert fop_mod.ALERT_LOCKOUT in f["alerts"] and f["farm_discarded"]["out_of_window"] >= 1
