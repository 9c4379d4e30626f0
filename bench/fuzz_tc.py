"""Fuzz campaign over the whole telecommand path of the flight software (issue 7).

    .venv/bin/python -m bench.fuzz_tc --inputs 200000 --seed 1 [--links datagram|stream|both]

Path under test (the real ``payload.app.PayloadApp`` on ``hal.fake.FakeHal``)::

    space link: bytes -> CLTU (bus.cltu) -> TC frame checks (bus.tc_frame)
                -> authentication of Type-D frames (bus.sdls, when the build has it: the hook)
                -> FARM-1 (bus.farm) -> packets of the data field -> TcRouter (payload/tc_router.py)
                -> application (payload/pus_app.py) -> handler
    lab port:   datagrams (one packet each) or a byte stream split by the length field -> TcRouter ...
    schedule:   packets released by service 11 -> TcRouter ...

One *input* is one chunk of octets put on one port; the payload then runs a fixed step
budget of its own scheduler (``PayloadApp.step`` once per fine period for ``INPUT_BUDGET_US``
of virtual time: one release of the 20 Hz comms group, with the fine, coarse, thermal and
housekeeping groups between).  Every ``IDLE_EVERY`` inputs it runs a whole second so
housekeeping and scheduled commands happen too.  The fine group runs at ``FINE_PERIOD_US``
(10 ms, not the flight 1 ms: the fine loops are most of the cost and take no part in the TC
path; ``--fine-period-us 1000`` runs the flight rate).

Oracle, checked after every input (``Harness.feed``):

crash    no exception escapes ``PayloadApp.step``; a handler exception that the router catches
         (``router.internal_errors``) is a crash as well (its traceback is kept).
hang     the input is consumed within the step budget, and each input's processing is bounded
         by a CPU-time alarm (``INPUT_CPU_LIMIT_S``; SIGPROF, so pytest-timeout's SIGALRM
         stays free).
account  every input is accounted for by the counters the flight code keeps (``Accounting``
         below).  A mismatch is a failure with the input that caused it.

Accounting (deltas over one input, and cumulative since boot):

  C1  cltu.cltus == cltu.frames + cltu.incomplete + cltu.in_cltu
        every start sequence ends in a candidate frame, an incomplete CLTU, or is still open
  F1  reader.accepted + sum(reader.rejected) == cltu.frames + bare
        every candidate frame is checked once; ``bare`` counts the chunks the link takes as a
        bare frame (not starting with EB 90 while no CLTU is open), computed by this harness
  F2  reader.accepted == farm.accepted_ad + farm.accepted_bd + farm.bc_executed + sum(farm.discarded)
                         + auth_rejected
  F3  link.frames_accepted == farm.accepted_ad + farm.accepted_bd + farm.bc_executed
      link.frames_rejected == sum(reader.rejected) + sum(farm.discarded) + auth_rejected
  A1  [authentication hook] auth_rejected: verdicts of ``SdlsReceiver.verify`` other than SEC_OK
        (a pass-through spy); the receiver's counters (accepted + truncated + bad_spi + bad_mac +
        replayed) move by the number of verdicts (unless SEC_RESET_COUNTERS ran); every frame
        that passed reaches FARM-1.  Without an authentication stage: no verdicts at all.
  D1  for each AD/BD frame FARM-1 accepted: data_len == sum(lengths of the packets handed to
        the router) + tail, 0 <= tail < 7 (``MIN_PACKET_LEN``); a non-zero tail is the class
        ``frame_tail_dropped``: the link drops it without counting it (finding, see the report)
  R1  router calls == router.packets_rejected + router.packets_routed
        (calls are observed by a pass-through spy on ``router.accept``; the router has no
        input counter of its own) and calls == space packets + lab + schedule.released, with
        lab == link.lab_packets_in and (datagram lab port) == non-empty datagrams fed
  L1  stream lab port: octets fed == octets of the packets handed to the router + the link's
        pending octets + skipped octets (skipped >= 0: resynchronisation, not counted on board)
  V1  each router call returning a failure code with a readable request ID (>= 4 octets) is
        answered by exactly one failure report TM[1,2] / TM[1,8] carrying that code, in order;
        without a request ID by EV_TC_REJECTED (or counted in ``events.suppressed``)
  V2  each call returning 0 was executed: TM[1,7] if its ack flags ask for completion
        (TM[1,1] if they ask for acceptance), and the owning application's handler ran

Outcome classes (``Harness.outcomes``) name the furthest stage each item reached:
``ignored`` (nothing moved: octets outside a CLTU, an open CLTU, an empty datagram),
``cltu_incomplete``, ``frame_rejected:<reason>``, ``sec_rejected:<reason>``,
``farm_discarded:<reason>``, ``farm_bc`` (Unlock / Set V(R) done), ``frame_tail_dropped``, ``lab_skipped_octets``,
``tc_rejected:<code>`` (TM[1,2]), ``tc_rejected_no_id:<code>``, ``tc_failed:<code>``
(TM[1,8]), ``tc_executed`` (handler returned 0).
"""

import argparse
import os
import random
import signal
import struct
import sys
import time
import traceback
from collections import Counter

from bus import mdb
from bus import pus
from bus.cltu import cltu_encode
from bus.crc16 import crc16
from bus.farm import ACCEPT_AD, ACCEPT_BD, DISCARD_NAMES
from bus.pus import pack_tc
from bus.spacepacket import MIN_PACKET_LEN
from bus.tc_frame import (
    FRAME_AD, FRAME_BC, FRAME_BD, RESULT_NAMES, UNLOCK, pack_tc_frame_into, set_vr_command, tc_frame,
)
from ground_segment.commanding import build_tc
from hal.fake import FakeHal
from payload.app import PayloadApp

FINE_PERIOD_US = 10000  # fine group period of the fuzzed payload (flight: 1000; --fine-period-us)
INPUT_BUDGET_US = 50000  # virtual time per input: one release of the 20 Hz comms group
IDLE_EVERY = 100  # inputs between two idle seconds (housekeeping, schedule releases)
INPUT_CPU_LIMIT_S = 5.0  # CPU seconds one input may take before it counts as a hang
RX_BUF_LEN = 2048  # payload/link.py RX_BUF_LEN: a longer datagram is truncated by the HAL link

_FAIL_NAMES = {code: v[0] for code, v in pus.FAILURES.items()}
for _f in mdb.FAILURES:
    _FAIL_NAMES[_f[0]] = _f[1]


_EV_TC_REJECTED = mdb.event("EV_TC_REJECTED")[0]


def fail_name(code):
    return _FAIL_NAMES.get(code, "0x%04X" % code)


class FuzzFailure(AssertionError):
    """A crash, hang or accounting mismatch, with the inputs that reproduce it."""

    def __init__(self, kind, detail, history, config=None):
        self.kind = kind  # "crash", "hang", "account", "dead"
        self.detail = detail
        self.history = list(history)  # [(port, bytes)] fed since boot, the last one the culprit
        self.config = config or {}  # Harness keywords of the boot that failed
        super().__init__(self.describe())

    def script(self):
        """A stand-alone Python reproducer: boot the same configuration, feed every input since boot."""
        lines = ["# %s" % line for line in ("%s: %s" % (self.kind, self.detail)).splitlines()]
        lines += ["from bench.fuzz_tc import Harness", "h = Harness(**%r)" % (self.config,)]
        lines += ["h.feed(%r, bytes.fromhex(%r))" % (port, data.hex()) for port, data in self.history]
        return "\n".join(lines) + "\n"

    def describe(self):
        lines = ["%s: %s" % (self.kind, self.detail),
                 "reproducer (fresh Harness with the same link kinds; feed these in order):"]
        tail = self.history[-12:]
        if len(self.history) > len(tail):
            lines.append("  ... %d earlier inputs (Harness.history) ..." % (len(self.history) - len(tail)))
        for port, data in tail:
            lines.append("  h.feed(%r, bytes.fromhex(%r))" % (port, data.hex()))
        return "\n".join(lines)


class _Hang(BaseException):
    """Raised by the CPU-time alarm inside flight code (BaseException: no ``except Exception`` eats it)."""


def _on_alarm(signum, frame):
    raise _Hang()


# --- authentication hook -------------------------------------------------------------------------
# Between the frame checks and FARM-1 sits TC authentication (SDLS style: security header with SPI and
# anti-replay sequence number, HMAC-SHA256 trailer).  When this harness was written it was being built
# (bus/sdls.py, payload/key_store.py, ``LinkStack.sdls`` / ``LinkStack.tc_auth``); everything that
# depends on it goes through the three hooks below, so that the harness runs with or without it:
#   auth_receiver(app)    the on-board verifier (None: no authentication stage in this build)
#   Harness._spy          counts each verdict of ``verify`` (pass-through)          -> accounting A1
#   Mutator.secure        signs well-formed Type-D frames as the ground would (keys, SPI, SN), and
#                         mutates the security fields (SPI, replayed / far SN, MAC, truncation)
# Accounting with authentication (A1): frames the reader accepted == FARM-1 outcomes + frames
# authentication rejected; link.frames_rejected includes the latter; every verify() that passed is
# followed by exactly one FARM-1 decision.

def auth_receiver(app):
    """The link's authentication stage (``bus.sdls.SdlsReceiver``) if it is on, else None."""
    link = app.link
    if getattr(link, "tc_auth", False) and getattr(link, "sdls", None) is not None:
        return link.sdls
    return None


_SEC_NAMES = {32: "truncated", 33: "bad_spi", 34: "bad_mac", 35: "replay"}  # bus.sdls SEC_*


class Harness:
    """The payload on a fake HAL, fed one input at a time, with the oracle above."""

    def __init__(self, space_stream=False, lab_stream=False, cpu_limit_s=INPUT_CPU_LIMIT_S, tc_auth=None,
                 fine_period_us=FINE_PERIOD_US):
        self.hal = hal = FakeHal()
        hal.links["space"].is_stream = space_stream
        hal.links["lab"].is_stream = lab_stream
        self.space_stream = space_stream
        self.lab_stream = lab_stream
        self.config = {"space_stream": space_stream, "lab_stream": lab_stream, "tc_auth": tc_auth,
                       "fine_period_us": fine_period_us}  # for reproducers
        kw = {"fine_period_us": fine_period_us}
        if tc_auth is not None:
            kw["tc_auth"] = tc_auth  # else the application's default configuration
        app = PayloadApp(hal, **kw)
        self.step_us = fine_period_us  # one PayloadApp.step per fine period
        self.steps_per_input = -(-INPUT_BUDGET_US // fine_period_us)  # the step budget of one input
        self.app = app
        app.start()
        self.sdls = auth_receiver(app)  # authentication hook: None without it
        self.link = app.link
        self.router = app.router
        self.cpu_limit_s = cpu_limit_s
        self.history = []  # [(port, bytes)] every input since boot
        self.inputs = 0
        self.outcomes = Counter()  # class -> items
        self.bare = 0  # chunks the link took as bare frames (F1)
        self.lab_octets_in = 0  # stream lab port (L1)
        self.lab_octets_routed = 0
        self.lab_datagrams = 0  # non-empty datagrams on the lab port (R1)
        self.crash_tracebacks = []
        self._calls = []  # this input's router calls: (source, code, reqid_valid, ack, n)
        self._frames = []  # this input's FARM-accepted Type-D frames: [data_len, octets routed]
        self._sec = []  # this input's authentication verdicts (bus.sdls SEC_*)
        self._sec_reset = False  # the receiver's counters were reset during this input
        self.sec_rejected = 0  # frames authentication rejected since boot (from the verdicts)
        self.sec_passed = 0
        self.farm_calls = 0  # frames FARM-1 decided on since boot
        self._port = None
        self._spy()

    # -- pass-through spies: observe, never change what the flight code does ------------------------
    def _spy(self):
        app, link, router = self.app, self.link, self.router
        real_accept = router.accept
        slots = app.schedule.slots

        def accept(buf, n, offset=0):
            if any(buf is s for s in slots):
                source = "schedule"
            else:
                source = self._port
            code = real_accept(buf, n, offset)
            reqid = n >= 4 and 0 <= offset and offset + 4 <= len(buf)
            ack = buf[offset + 6] & 0x0F if code == 0 else 0
            self._calls.append((source, code, reqid, ack, n))
            if source == "space" and self._frames:
                self._frames[-1][1] += n
            elif source == "lab" and self.lab_stream:
                self.lab_octets_routed += n
            return code

        router.accept = accept
        farm = link.farm
        real_process = farm.process

        def process(reader):
            self.farm_calls += 1
            verdict = real_process(reader)
            if verdict == ACCEPT_AD or verdict == ACCEPT_BD:
                self._frames.append([reader.data_len, 0])
            return verdict

        farm.process = process
        if self.sdls is not None:  # authentication hook
            sdls = self.sdls
            real_verify = sdls.verify

            def verify(buf, frame_offset, data_offset, data_len):
                code = real_verify(buf, frame_offset, data_offset, data_len)
                self._sec.append(code)
                if code:
                    self.sec_rejected += 1
                else:
                    self.sec_passed += 1
                return code

            sdls.verify = verify
            real_reset = sdls.reset_counters

            def reset_counters():
                self._sec_reset = True
                real_reset()

            sdls.reset_counters = reset_counters
        for a in (app.manager, app.source_app, app.pointing_app, app.fdir_app, getattr(app, "security_app", None)):
            if a is not None:
                self._spy_execute(a)

    def _spy_execute(self, a):
        real = a.execute

        def execute(cmd, tc, buf):
            try:
                return real(cmd, tc, buf)
            except Exception:  # noqa: BLE001 - recorded, then re-raised for the router to count
                self.crash_tracebacks.append(traceback.format_exc())
                raise

        a.execute = execute

    # -- counters -------------------------------------------------------------------------------------
    def snapshot(self):
        link, farm, r, c, router = self.link, self.link.farm, self.link.frame_reader, self.link.cltu, self.router
        return {
            "cltus": c.cltus, "cltu_frames": c.frames, "cltu_incomplete": c.incomplete, "in_cltu": int(c.in_cltu),
            "reader_accepted": r.accepted, "reader_rejected": list(r.rejected),
            "ad": farm.accepted_ad, "bd": farm.accepted_bd, "bc": farm.bc_executed, "discarded": list(farm.discarded),
            "frames_accepted": link.frames_accepted, "frames_rejected": link.frames_rejected,
            "lab_in": link.lab_packets_in, "rejected": router.packets_rejected, "routed": router.packets_routed,
            "internal": router.internal_errors, "released": self.app.schedule.released,
            "suppressed": self.app.services.events.suppressed, "farm_calls": self.farm_calls,
            "sec_counted": self._sec_counted(), "sec_rejected": self.sec_rejected, "sec_passed": self.sec_passed,
        }

    def _sec_counted(self):
        s = self.sdls
        if s is None:
            return 0
        return s.accepted + s.truncated + s.bad_spi + s.bad_mac + s.replayed

    # -- one input ------------------------------------------------------------------------------------
    def feed(self, port, data):
        """Put ``data`` on ``port`` ("space" or "lab"), run the step budget, check the oracle."""
        data = bytes(data)
        self.history.append((port, data))
        self.inputs += 1
        link = self.hal.links[port]
        n = min(len(data), RX_BUF_LEN)
        if port == "space" and n and not (n >= 2 and data[0] == 0xEB and data[1] == 0x90 or self.link.cltu.in_cltu):
            self.bare += 1
        if port == "lab":
            if self.lab_stream:
                self.lab_octets_in += n
            elif n:
                self.lab_datagrams += 1
        link.rx.append(data)
        steps = self.steps_per_input if self.inputs % IDLE_EVERY else 1000000 // self.step_us
        self._run(port, steps)
        if link.rx:
            self._fail("hang", "input not consumed within the step budget of %d steps" % steps)

    def idle(self, ms):
        """Run the payload ``ms`` without input (scheduled releases land here)."""
        self._run(None, ms * 1000 // self.step_us)

    def _run(self, port, steps):
        before = self.snapshot()
        self._calls = []
        self._frames = []
        self._sec = []
        self._sec_reset = False
        self._port = port
        lab_tx = self.hal.links["lab"].tx
        lab_tx.clear()
        self.hal.links["space"].tx.clear()
        app, clock = self.app, self.hal.clock
        use_alarm = self.cpu_limit_s and hasattr(signal, "setitimer")
        if use_alarm:
            old = signal.signal(signal.SIGPROF, _on_alarm)
            signal.setitimer(signal.ITIMER_PROF, self.cpu_limit_s)
        try:
            i = 0
            while i < steps:
                app.step()
                clock.advance(self.step_us)
                i += 1
        except _Hang:
            self._fail("hang", "processing took more than %.1f s of CPU:\n%s"
                       % (self.cpu_limit_s, traceback.format_exc()))
        except Exception:  # noqa: BLE001 - the oracle: anything escaping flight code is a crash
            self._fail("crash", "exception escaped PayloadApp.step:\n" + traceback.format_exc())
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, old)
        self._account(before, self.snapshot(), lab_tx)

    def _fail(self, kind, detail):
        raise FuzzFailure(kind, detail, self.history, self.config)

    def _account(self, b, a, lab_tx):
        """Check C1..V2 over this input; add the outcome classes."""
        err = []
        d = {k: (a[k] - b[k]) for k in a if not isinstance(a[k], list)}
        drej = [x - y for x, y in zip(a["reader_rejected"], b["reader_rejected"])]
        ddis = [x - y for x, y in zip(a["discarded"], b["discarded"])]
        out = Counter()
        if d["internal"]:
            self._fail("crash", "a handler raised (router.internal_errors +%d):\n%s"
                       % (d["internal"], self.crash_tracebacks[-1] if self.crash_tracebacks else "?"))
        # C1, F1..F3, A1: cumulative identities (they hold since boot)
        if a["cltus"] != a["cltu_frames"] + a["cltu_incomplete"] + a["in_cltu"]:
            err.append("C1 cltus %d != frames %d + incomplete %d + open %d"
                       % (a["cltus"], a["cltu_frames"], a["cltu_incomplete"], a["in_cltu"]))
        checked = a["reader_accepted"] + sum(a["reader_rejected"])
        if checked != a["cltu_frames"] + self.bare:
            err.append("F1 frames checked %d != CLTU frames %d + bare %d" % (checked, a["cltu_frames"], self.bare))
        farm_acted = a["ad"] + a["bd"] + a["bc"]
        sec_rej = a["sec_rejected"]
        if a["reader_accepted"] != farm_acted + sum(a["discarded"]) + sec_rej:
            err.append("F2 reader accepted %d != FARM acted %d + discarded %d + authentication rejected %d"
                       % (a["reader_accepted"], farm_acted, sum(a["discarded"]), sec_rej))
        if a["frames_accepted"] != farm_acted:
            err.append("F3 link.frames_accepted %d != FARM acted %d" % (a["frames_accepted"], farm_acted))
        if a["frames_rejected"] != sum(a["reader_rejected"]) + sum(a["discarded"]) + sec_rej:
            err.append("F3 link.frames_rejected %d != reader %d + FARM %d + authentication %d"
                       % (a["frames_rejected"], sum(a["reader_rejected"]), sum(a["discarded"]), sec_rej))
        # A1 (authentication hook): every verdict counted by the receiver; a pass goes on to FARM-1
        if self.sdls is None:
            if a["sec_rejected"] or a["sec_passed"]:
                err.append("A1 authentication verdicts without an authentication stage")
        else:
            if not self._sec_reset and d["sec_counted"] != len(self._sec):  # reset: SEC_RESET_COUNTERS ran
                err.append("A1 sdls counters +%d != verdicts %d" % (d["sec_counted"], len(self._sec)))
            if d["sec_passed"] > d["farm_calls"]:
                err.append("A1 %d frames passed authentication, FARM-1 saw %d" % (d["sec_passed"], d["farm_calls"]))
        if d["farm_calls"] != d["ad"] + d["bd"] + d["bc"] + sum(ddis):
            err.append("A1 FARM-1 calls %d != its outcomes" % d["farm_calls"])
        # D1: each accepted Type-D frame's data field goes to the router but for a tail < 7 octets
        for data_len, routed in self._frames:
            tail = data_len - routed
            if not 0 <= tail < MIN_PACKET_LEN:
                err.append("D1 data field %d octets, %d handed to the router" % (data_len, routed))
            elif tail:
                out["frame_tail_dropped"] += 1
        # R1: every router call counted once; sources add up
        calls = self._calls
        by_source = Counter(c[0] for c in calls)
        if len(calls) != d["rejected"] + d["routed"]:
            err.append("R1 router calls %d != rejected %d + routed %d" % (len(calls), d["rejected"], d["routed"]))
        if by_source["schedule"] != d["released"]:
            err.append("R1 scheduled calls %d != schedule.released +%d" % (by_source["schedule"], d["released"]))
        if by_source["lab"] != d["lab_in"]:
            err.append("R1 lab calls %d != link.lab_packets_in +%d" % (by_source["lab"], d["lab_in"]))
        if not self.lab_stream and a["lab_in"] != self.lab_datagrams:
            err.append("R1 link.lab_packets_in %d != non-empty datagrams fed %d" % (a["lab_in"], self.lab_datagrams))
        if by_source["space"] and not (d["ad"] + d["bd"]):
            err.append("R1 %d space packets without an accepted Type-D frame" % by_source["space"])
        if by_source[None]:
            err.append("R1 %d router calls from no source" % by_source[None])
        # L1: stream lab port octets
        if self.lab_stream:
            pending = getattr(self.link, "_lab_fill", 0)
            skipped = self.lab_octets_in - self.lab_octets_routed - pending
            if skipped < 0:
                err.append("L1 lab octets in %d < routed %d + pending %d"
                           % (self.lab_octets_in, self.lab_octets_routed, pending))
            prev = getattr(self, "_lab_skipped", 0)
            if skipped > prev:
                out["lab_skipped_octets"] += skipped - prev
            self._lab_skipped = skipped
        # V1, V2: verification reports from the TM stream (the lab port carries every TM packet)
        fails, completions, acceptances, ev_rejected = [], 0, 0, 0
        for p in lab_tx:
            if len(p) >= pus.TM_MIN_LEN + 2 and p[7] == 5 and (p[20] << 8 | p[21]) == _EV_TC_REJECTED:
                ev_rejected += 1
            if len(p) >= pus.TM_MIN_LEN and p[7] == 1:
                st = p[8]
                if st & 1 == 0:
                    fails.append((st, (p[24] << 8) | p[25]))
                elif st == 7:
                    completions += 1
                elif st == 1:
                    acceptances += 1
        want_fail = [c[1] for c in calls if c[1] and c[2]]
        if [f[1] for f in fails] != want_fail:
            err.append("V1 failure reports %s != failed calls %s"
                       % ([fail_name(f[1]) for f in fails], [fail_name(c) for c in want_fail]))
        no_id = sum(1 for c in calls if c[1] and not c[2])
        if ev_rejected + d["suppressed"] < no_id:
            err.append("V1 %d calls without a request ID, %d EV_TC_REJECTED (+%d events suppressed)"
                       % (no_id, ev_rejected, d["suppressed"]))
        want_done = sum(1 for c in calls if c[1] == 0 and c[3] & pus.ACK_COMPLETION)
        want_acc = sum(1 for c in calls if c[1] == 0 and c[3] & pus.ACK_ACCEPTANCE)
        if completions != want_done:
            err.append("V2 TM[1,7] %d != executed calls asking for completion %d" % (completions, want_done))
        if acceptances < want_acc:
            err.append("V2 TM[1,1] %d < executed calls asking for acceptance %d" % (acceptances, want_acc))
        if err:
            self._fail("account", "; ".join(err))
        # outcome classes
        if d["cltu_incomplete"]:
            out["cltu_incomplete"] += d["cltu_incomplete"]
        for code, k in enumerate(drej):
            if k:
                out["frame_rejected:" + RESULT_NAMES[code]] += k
        for i, k in enumerate(ddis):
            if k:
                out["farm_discarded:" + DISCARD_NAMES[i]] += k
        if d["bc"]:
            out["farm_bc"] += d["bc"]
        for code in self._sec:
            if code:
                out["sec_rejected:" + _SEC_NAMES.get(code, str(code))] += 1
        fi = 0
        for _, code, reqid, _, _ in calls:
            if code == 0:
                out["tc_executed"] += 1
            elif not reqid:
                out["tc_rejected_no_id:" + fail_name(code)] += 1
            else:
                st = fails[fi][0]
                fi += 1
                out[("tc_failed:" if st == 8 else "tc_rejected:") + fail_name(code)] += 1
        if self._port is not None and not out:
            out["ignored"] += 1
        self.outcomes.update(out)

    # -- liveness -------------------------------------------------------------------------------------
    def probe(self):
        """Liveness: close any open CLTU, Unlock the FARM, then an are-you-alive in a Type-BD frame
        (signed when authentication is on) and one on the lab port: (space answered, lab answered)."""
        k = 0
        while self.link.cltu.in_cltu and k < 200:
            self.feed("space", b"\x00" * 8)  # an uncorrectable block ends it
            k += 1
        self.feed("space", cltu_encode(tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_BC, 0, UNLOCK)))
        frame = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_BD, 0, pack_tc(mdb.APID_MANAGER, 1, 17, 1))
        if self.sdls is not None:  # authentication hook: sign with an enabled SPI's key, next SN
            from bus import sdls  # noqa: PLC0415

            keys = self.app.keys
            spi = [s for s in range(sdls.SPI_MIN, sdls.SPI_MAX + 1) if keys.enabled(s)][0]
            frame = sdls.secure_tc_frame(frame, spi, keys.last_sn(spi) + 1, keys.mac_for(spi))
        self.feed("space", cltu_encode(frame))
        ok_space = any(c[0] == "space" and c[1] == 0 for c in self._calls)
        ping = pack_tc(mdb.APID_FDIR, 2, 17, 1)
        if self.lab_stream:
            ping = b"\x00" * 520 + ping  # completes any partial packet the stream holds (<= 512 octets)
        self.feed("lab", ping)
        ok_lab = any(c[0] == "lab" and c[1] == 0 for c in self._calls)
        return ok_space, ok_lab


# --- generators ----------------------------------------------------------------------------------

def _crc_fix(b, start=0):
    """Recompute the CRC-16 in the last two octets of ``b[start:]`` (packet PEC or frame FECF)."""
    end = len(b) - 2
    if end > start:
        c = crc16(b, start, end)
        b[end] = c >> 8
        b[end + 1] = c & 0xFF
    return b


def _arg_value(rng, a, in_range=True):
    """A value for argument declaration ``a`` = (name, type, lo, hi, unit)."""
    _, typ, lo, hi, _ = a
    if in_range:
        r = rng.random()
        if r < 0.2:
            return lo
        if r < 0.4:
            return hi
        return rng.randint(lo, hi)
    bits = {"u8": 8, "u16": 16, "u32": 32, "i8": 8, "i16": 16, "i32": 32}.get(typ, 16)
    signed = typ.startswith("i")
    tlo, thi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    cands = [v for v in (lo - 1, hi + 1, tlo, thi) if tlo <= v <= thi and not lo <= v <= hi]
    if not cands:
        return rng.randint(lo, hi)
    return rng.choice(cands)


class Ground:
    """What the generator knows of the payload, as a ground station would (from the CLCW, its own
    key file and sequence counters); read here from the flight objects for simplicity."""

    def __init__(self, app=None):
        self.app = app

    def vr(self):
        return self.app.link.farm.vr if self.app is not None else 0

    def lockout(self):
        """The CLCW's Lockout flag (FOP-1 answers it with an Unlock)."""
        return self.app is not None and self.app.link.farm.lockout == 1

    def auth(self):
        """Authentication hook: the receiver's key store, or None when frames are not authenticated."""
        if self.app is None or auth_receiver(self.app) is None:
            return None
        return self.app.keys


class Mutator:
    """Seeded generator of inputs: well-formed items from the project's builders, then mutated.

    ``ground`` (``Ground``) gives the payload's V(R), so that most Type-AD frames are in sequence and
    reach the applications, and the keys and sequence numbers that sign frames when authentication
    is on.
    """

    def __init__(self, seed, ground=None, lab_stream=False, space_stream=False):
        self.rng = random.Random(seed)
        self.ground = ground if ground is not None else Ground()
        self.lab_stream = lab_stream
        self.space_stream = space_stream
        self.seq = 0

    # packets
    def command(self):
        """A TC of the mission database (build_tc), arguments in range mostly."""
        rng = self.rng
        decl = rng.choice(mdb.COMMANDS)
        name, apid, svc, sub, fid, args = decl[:6]
        self.seq = (self.seq + 1) & 0x3FFF
        ack = rng.choice((pus.ACK_ALL, pus.ACK_ALL, 0, pus.ACK_COMPLETION, pus.ACK_ACCEPTANCE, rng.randint(0, 15)))
        if args is None:  # SCHED_INSERT: N activities, each a CDS time and a TC
            return pack_tc(apid, self.seq, svc, sub, self.sched_data(), ack)
        in_range = rng.random() < 0.85
        values = [_arg_value(rng, a, in_range or rng.random() < 0.5) for a in args]
        if all(a[2] <= v <= a[3] for a, v in zip(args, values)):
            given = {a[0]: v for a, v in zip(args, values)}
            return build_tc(name, given, self.seq, ack)
        data = (b"" if fid is None else bytes([fid])) + struct.pack(mdb.args_format(args), *values)
        return pack_tc(apid, self.seq, svc, sub, data, ack)

    def sched_data(self):
        rng = self.rng
        n_real = rng.choice((1, 1, 2, 3, 0))
        body = b""
        for _ in range(n_real):
            inner = self.command() if rng.random() < 0.3 else pack_tc(
                rng.choice((mdb.APID_MANAGER, mdb.APID_FDIR, 0x123)), rng.randint(0, 0x3FFF), 17, 1)
            days = rng.choice((0, 21000, 25000, 0xFFFF, rng.randint(0, 0xFFFF)))
            ms = rng.choice((0, 86399999, 86400000, rng.randint(0, 0xFFFFFFFF)))
            body += struct.pack(">BHI", 0x40 if rng.random() < 0.9 else rng.randint(0, 255), days, ms) + inner
        n = rng.choice((n_real, n_real, 255, rng.randint(0, 255)))  # huge N lies
        return bytes([n]) + body

    def time_set(self):
        self.seq = (self.seq + 1) & 0x3FFF
        return build_tc("TIME_SET", {"days": 25000, "ms_of_day": self.rng.randint(0, 86399999)}, self.seq)

    def packet(self):
        """A command, mutated with probability 1/2 (then the CRC is fixed half the time)."""
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            return self.time_set()
        p = bytearray(self.command())
        if rng.random() < 0.5:
            return bytes(p)
        op = rng.randrange(9)
        if op == 0:  # bit flips
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(p) * 8)
                p[i >> 3] ^= 0x80 >> (i & 7)
        elif op == 1:  # truncation
            p = p[:rng.randrange(len(p))]
        elif op == 2:  # extension
            p += bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        elif op == 3 and len(p) >= 6:  # length field lie
            struct.pack_into(">H", p, 4, rng.choice((0, 1, 5, 0xFFFF, max(0, len(p) - 7 + rng.randint(-3, 3)))))
        elif op == 4 and len(p) >= 2:  # wrong APID (keep version, type, flag)
            struct.pack_into(">H", p, 0, 0x1800 | rng.choice((0, 0x7FF, 0x011, rng.randrange(0x800))))
        elif op == 5 and len(p) >= 9:  # wrong service / subtype
            p[7 + rng.randrange(2)] = rng.randrange(256)
        elif op == 6 and len(p) >= 7:  # version / type / sec-hdr / seq flags / PUS version
            i = rng.choice((0, 2, 6))
            p[i] ^= rng.choice((0x20, 0x10, 0x08, 0x40, 0x80, 0xC0, 0xF0))
        elif op == 7 and len(p) > 11:  # application data garbage, length kept
            for i in range(11, len(p) - 2):
                if rng.random() < 0.3:
                    p[i] = rng.randrange(256)
        else:  # function id garbage on TC[8,1]
            if len(p) > 11:
                p[11] = rng.randrange(256)
        if rng.random() < 0.5 and len(p) >= 8:
            _crc_fix(p)
        return bytes(p)

    # frames
    def frame(self, data=None):
        """A TC frame carrying packets (or a control command), often mutated; returns bytes."""
        rng = self.rng
        r = rng.random()
        if self.ground.lockout() and rng.random() < 0.3:
            r = 0.0  # the ground notices the lockout: a control command (mostly Unlock)
        if r < 0.06:
            ftype, data = FRAME_BC, rng.choice((UNLOCK, set_vr_command(rng.randrange(256)),
                                                 bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))))
            seq = 0
        else:
            ftype = FRAME_AD if r < 0.8 else FRAME_BD
            if data is None:
                k = 1 if rng.random() < 0.85 else rng.randint(2, 4)  # several packets blocked
                data = b"".join(self.packet() for _ in range(k))
                if rng.random() < 0.03:
                    data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))  # runt tail
            if not data:
                data = b"\x00"
            vr = self.ground.vr()
            jump = rng.random()
            if jump < 0.8:
                seq = vr
            elif jump < 0.9:
                seq = (vr + rng.choice((-1, -2, 1, 2, 9, 10, 11, -10, -11))) & 0xFF
            else:
                seq = rng.randrange(256)
        room = 1024 - 5 - (0 if ftype == FRAME_BC else 1) - 2
        data = data[:room]
        buf = bytearray(5 + (0 if ftype == FRAME_BC else 1) + len(data) + 2)
        pack_tc_frame_into(buf, mdb.SPACECRAFT_ID, mdb.TC_VCID, ftype, seq, data,
                           map_id=0 if rng.random() < 0.95 else rng.randrange(64))
        if ftype != FRAME_BC:
            buf = self.secure(buf)
        total = len(buf)
        if rng.random() < 0.25:
            op = rng.randrange(7)
            if op == 0:  # wrong SCID
                buf[0] = (buf[0] & 0xFC) | rng.randrange(4)
                buf[1] = rng.randrange(256)
            elif op == 1:  # wrong VCID
                buf[2] = (rng.randrange(1, 64) << 2) | (buf[2] & 3)
            elif op == 2:  # bad FECF
                buf[-1 - rng.randrange(2)] ^= 1 << rng.randrange(8)
                return bytes(buf)
            elif op == 3:  # length lie
                ln = rng.choice((0, 5, total - 2, total, 1023))
                buf[2] = (buf[2] & 0xFC) | (ln >> 8)
                buf[3] = ln & 0xFF
            elif op == 4:  # version / type / segment flags
                i = rng.choice((0, 5))
                buf[i] ^= rng.choice((0x40, 0x80, 0x10, 0x20, 0xC0))
            elif op == 5:  # bit flip anywhere (header, security fields, packets, MAC), FECF fixed
                i = rng.randrange((total - 2) * 8)
                buf[i >> 3] ^= 0x80 >> (i & 7)
            else:  # truncate or extend (FECF left wrong)
                if rng.random() < 0.5:
                    return bytes(buf[:rng.randrange(total)])
                return bytes(buf) + b"\x00" * rng.randint(1, 9)
            _crc_fix(buf)
        return bytes(buf)

    def secure(self, frame):
        """Authentication hook: sign a Type-D frame as the ground would (``bus.sdls.secure_tc_frame``),
        with the security fields sometimes wrong; unchanged when authentication is off."""
        keys = self.ground.auth()
        if keys is None:
            return frame
        from bus import sdls  # noqa: PLC0415 - only where the authentication stage exists

        rng = self.rng
        if rng.random() < 0.03:
            return frame  # not signed at all
        enabled = [spi for spi in range(sdls.SPI_MIN, sdls.SPI_MAX + 1) if keys.enabled(spi)]
        spi = rng.choice(enabled) if enabled and rng.random() < 0.93 else rng.choice((0, 4, 0xFFFF, 1, 2, 3))
        mac = keys.mac_for(spi)
        if mac is None:
            mac = keys.mac_for(enabled[0]) if enabled else sdls.HmacSha256(sdls.lab_key(1))
        last = keys.last_sn(spi) if 0 <= spi < sdls.N_SPI else 0
        r = rng.random()
        if r < 0.9:
            sn = last + 1
        elif r < 0.93:
            sn = last  # replay
        elif r < 0.96:
            sn = last + sdls.ARSN_WINDOW + rng.choice((0, 1))
        else:
            sn = rng.randrange(1 << 32)
        sn &= sdls.SN_MAX
        try:
            return bytearray(sdls.secure_tc_frame(frame, spi, sn, mac))
        except ValueError:  # too long once secured
            return frame

    def cltu(self, frame=None):
        """A CLTU around a frame, sometimes with bit errors, truncation or junk around it."""
        rng = self.rng
        if frame is None:
            frame = self.frame()
        c = bytearray(cltu_encode(frame or b"\x00"))
        if rng.random() < 0.3:
            op = rng.randrange(5)
            if op == 0:  # single bit error (correctable) in a code block
                i = 16 + rng.randrange((len(c) - 10) * 8 - 16)
                c[i >> 3] ^= 0x80 >> (i & 7)
            elif op == 1:  # two bit errors in one block (detected, CLTU ends)
                blk = 2 + 8 * rng.randrange((len(c) - 10) // 8)
                a, b = rng.sample(range(64), 2)
                c[blk + (a >> 3)] ^= 0x80 >> (a & 7)
                c[blk + (b >> 3)] ^= 0x80 >> (b & 7)
            elif op == 2:  # no tail (truncated)
                c = c[:rng.randint(2, len(c) - 1)]
            elif op == 3:  # junk before and after
                c = bytearray(bytes(rng.randrange(256) for _ in range(rng.randint(0, 5)))) + c + bytes(
                    rng.randrange(256) for _ in range(rng.randint(0, 5)))
            else:  # broken start or tail sequence
                c[rng.choice((0, 1, len(c) - 1, len(c) - 4))] ^= 0xFF
        return bytes(c)

    def noise(self):
        rng = self.rng
        n = rng.choice((0, 1, 2, 3, 6, 7, 13, rng.randint(0, 64), rng.randint(0, 600), rng.randint(2000, 2100)))
        b = bytearray(rng.randrange(256) for _ in range(n))
        if n >= 2 and rng.random() < 0.3:
            b[0:2] = b"\xeb\x90"
        return bytes(b)

    def items(self):
        """The next logical item as a list of (port, chunk) inputs."""
        rng = self.rng
        r = rng.random()
        if r < 0.08:
            return [(rng.choice(("space", "lab")), self.noise())]
        if r < 0.55:
            f = self.frame()
            if not self.space_stream and rng.random() < 0.25:
                return [("space", f)]  # bare frame in a datagram
            c = self.cltu(f)
            if rng.random() < 0.1:
                c += self.cltu()  # two CLTUs in one chunk
            return self._chunks("space", c, self.space_stream)
        p = self.packet()
        if self.lab_stream:
            if rng.random() < 0.2:
                p += self.packet()
            if rng.random() < 0.1:
                p = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + p
            return self._chunks("lab", p, True)
        return [("lab", p)]

    def _chunks(self, port, data, stream):
        if not stream or len(data) < 2 or self.rng.random() < 0.5:
            return [(port, data)]
        cuts = sorted(self.rng.sample(range(1, len(data)), min(len(data) - 1, self.rng.randint(1, 3))))
        out, last = [], 0
        for c in cuts + [len(data)]:
            out.append((port, data[last:c]))
            last = c
        return out


def campaign(n_inputs, seed, space_stream=False, lab_stream=False, probe_every=2000, reboot_every=20000,
             tc_auth=None, fine_period_us=FINE_PERIOD_US):
    """Run ``n_inputs`` inputs; return (Harness of the last boot, outcome Counter, failures, inputs run).

    A failure (crash, hang, accounting, dead payload) is recorded and the campaign continues on a
    fresh boot; a reproducer is the inputs since boot, so ``reboot_every`` bounds its length."""
    rng = random.Random(seed)
    outcomes = Counter()
    failures = []
    done = 0
    h = None
    gen = None

    def boot():
        hh = Harness(space_stream, lab_stream, tc_auth=tc_auth, fine_period_us=fine_period_us)
        return hh, Mutator(rng.randrange(1 << 30), Ground(hh.app), lab_stream, space_stream)

    h, gen = boot()
    since_boot = 0
    next_probe = probe_every
    while done < n_inputs:
        try:
            for port, chunk in gen.items():
                h.feed(port, chunk)
                done += 1
                since_boot += 1
            if since_boot >= next_probe and done < n_inputs:
                next_probe = since_boot + probe_every
                ok = h.probe()
                if not all(ok):
                    raise FuzzFailure("dead", "probe unanswered (space, lab) = %r" % (ok,), h.history, h.config)
            if since_boot >= reboot_every:
                outcomes.update(h.outcomes)
                h, gen = boot()
                since_boot = 0
                next_probe = probe_every
        except FuzzFailure as f:
            failures.append(f)
            outcomes.update(h.outcomes)
            h, gen = boot()
            since_boot = 0
            next_probe = probe_every
    outcomes.update(h.outcomes)
    return h, outcomes, failures, done


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=20000, help="inputs to run (per link configuration)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fine-period-us", type=int, default=FINE_PERIOD_US,
                    help="fine rate group period of the fuzzed payload (flight 1000; default %(default)s for speed)")
    ap.add_argument("--no-auth", action="store_true", help="payload without TC authentication (tc_auth=False)")
    ap.add_argument("--out", default="runs/fuzz_tc", help="directory for reproducer scripts of failures")
    ap.add_argument("--links", choices=("datagram", "stream", "both"), default="both",
                    help="HAL links: datagrams (UDP), byte streams (UART), or both campaigns")
    args = ap.parse_args(argv)
    configs = {"datagram": [(False, False)], "stream": [(True, True)],
               "both": [(False, False), (True, True)]}[args.links]
    total_fail = 0
    for space_stream, lab_stream in configs:
        kind = "stream" if space_stream else "datagram"
        t0 = time.perf_counter()
        _, outcomes, failures, done = campaign(args.inputs, args.seed, space_stream, lab_stream,
                                               tc_auth=False if args.no_auth else None,
                                               fine_period_us=args.fine_period_us)
        dt = time.perf_counter() - t0
        print("fuzz_tc links=%s seed=%d: %d inputs in %.1f s = %.0f inputs/s; failures (crash/hang/account/dead): %d"
              % (kind, args.seed, done, dt, done / dt, len(failures)))
        for k in sorted(outcomes):
            print("  %-44s %9d" % (k, outcomes[k]))
        if failures:
            os.makedirs(args.out, exist_ok=True)
        for i, f in enumerate(failures):
            path = os.path.join(args.out, "repro_%s_seed%d_%d.py" % (kind, args.seed, i))
            with open(path, "w") as fh:
                fh.write(f.script())
            if i < 5:
                print("-" * 60)
                print(f.describe())
                print("full reproducer (from the repository root): PYTHONPATH=. .venv/bin/python %s" % path)
        total_fail += len(failures)
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
