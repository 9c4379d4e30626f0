"""Hazardous telecommands: armed first, then executed within a timeout (docs/hazardous_commands.md).

The mission database says when a command is hazardous (``bus.mdb`` COMMANDS
field 6: never, always, or when its arguments, or the owning application's
state, meet conditions).  Such a command runs only when it matches the one live
arm: HAZ_ARM named its APID, service, subtype, function ID (TC[8,1]; 0
otherwise) and the CRC-16 of its application data, less than
``arm_timeout_s`` ago.  The arm is consumed by the command it names; any other
hazardous command is refused with FAIL_NOT_ARMED (an acceptance failure: the
application never sees it), and nothing changes.  Arming never bypasses an
interlock: the handler still decides, and EV_HAZ_EXECUTED reports its outcome.

Time-tagged commands: a TC[11,4] that embeds a hazardous command is hazardous
itself and must be armed.  While the armed insert runs, the schedule marks each
embedded activity that is hazardous (state-dependent conditions count as
hazardous there, the state at release being unknown); at release a marked
activity runs on the authority of that armed insert, with no second arm.

The router asks ``check`` for every command an application found a handler
for, and calls ``done`` with the outcome; the application sets
``release_authorised`` while the schedule releases a marked activity.
"""

from bus import mdb
from bus.compat import const
from bus.crc16 import crc16
from hal.interface import ticks_diff

PASS = const(0)  # not hazardous now: runs as any command
ARMED = const(1)  # matched the live arm (consumed): runs, EV_HAZ_EXECUTED after
SCHEDULED = const(2)  # hazardous activity released from an armed TC[11,4]: runs, EV_HAZ_EXECUTED after

# EV_HAZ_REFUSED reasons
REFUSED_NOT_ARMED = const(1)
REFUSED_MISMATCH = const(2)  # another command is armed
REFUSED_EXPIRED = const(3)  # this command was armed, but its arm timed out
# EV_HAZ_EXPIRED reasons
ENDED_TIMEOUT = const(0)
ENDED_DISARM = const(1)
ENDED_REPLACED = const(2)

_EMBEDS = "embeds_hazardous"  # SCHED_INSERT's state condition: answered here (mdb COMMANDS)
_TC_HEADER_LEN = const(11)  # primary header and PUS-C TC secondary header (bus.pus.TC_APP_DATA_OFFSET)
_TC_MIN_LEN = const(13)  # headers and the CRC
_ACTIVITY_TIME_LEN = const(7)  # CDS release time ahead of each embedded packet (payload/s11_schedule.py)


class HazardGate:
    def __init__(self, services, clock):
        self.services = services
        self._clock = clock
        self.arm_timeout_s = mdb.HAZ_ARM_TIMEOUT_S  # parameter hazard_arm_timeout_s
        self.armed = 0  # 1: the key below is a live arm
        self.arms = 0
        self.executed = 0
        self.refused = 0
        self.expired = 0
        self.armed_now = False  # an armed command is running: the schedule marks what it inserts
        self.release_authorised = 0  # 1 while the schedule releases an activity it marked (PayloadApp)
        self._apps = {}  # APID -> application (bind())
        self._key = [0, 0, 0, 0, 0]  # apid, service, subtype, function, crc of the arm (live or lapsed)
        self._lapsed = False  # the key is of an arm that timed out unused
        self._t_armed_ms = 0
        self._life_ms = 0
        self._run = [0, 0, 0, 0, 0]  # key of the command running under an arm or an armed insert
        self._run_scheduled = -1  # -1: nothing running under authority; else 0 armed, 1 scheduled
        self._targets = {}  # (apid, service, subtype, function) of every command that can be hazardous
        for c in mdb.COMMANDS:
            if c[6]:
                self._targets[(c[1], c[2], c[3], c[4] if c[4] is not None else 0)] = c[0]
        self._ev_armed = mdb.event("EV_HAZ_ARMED")[0]
        self._ev_executed = mdb.event("EV_HAZ_EXECUTED")[0]
        self._ev_refused = mdb.event("EV_HAZ_REFUSED")[0]
        self._ev_expired = mdb.event("EV_HAZ_EXPIRED")[0]

    def bind(self, apps):
        """The applications by APID (to classify the packets a TC[11,4] embeds)."""
        for app in apps:
            self._apps[app.apid] = app

    # -- arming (HAZ_ARM, HAZ_DISARM) -----------------------------------------------------
    def arm(self, apid, service, subtype, function, crc):
        """Arm exactly this command; replaces a live arm. Returns 0 or FAIL_HAZ_TARGET."""
        if (apid, service, subtype, function) not in self._targets:
            return mdb.FAIL_HAZ_TARGET
        if self.armed:
            self._end(ENDED_REPLACED)
        k = self._key
        k[0] = apid
        k[1] = service
        k[2] = subtype
        k[3] = function
        k[4] = crc
        self._lapsed = False
        self._t_armed_ms = self._clock.ticks_ms()
        self._life_ms = self.arm_timeout_s * 1000
        self.armed = 1
        self.arms += 1
        self.services.events.raise_args(self._ev_armed, apid, service, subtype, function, crc, self.arm_timeout_s)
        return 0

    def disarm(self):
        if self.armed:
            self._end(ENDED_DISARM)
        self._lapsed = False
        return 0

    def tick(self):
        """Expire a live arm whose time is up (comms group)."""
        if self.armed and self._timed_out():
            self._end(ENDED_TIMEOUT)
            self._lapsed = True

    def _timed_out(self):
        return ticks_diff(self._clock.ticks_ms(), self._t_armed_ms) >= self._life_ms

    def _end(self, reason):
        k = self._key
        self.armed = 0
        self.expired += 1
        self.services.events.raise_args(self._ev_expired, k[0], k[1], k[2], k[3], k[4], reason)

    # -- the telecommand path (payload/tc_router.py) ----------------------------------------
    def check(self, app, cmd, tc, buf):
        """PASS, ARMED or SCHEDULED (the command runs) or FAIL_NOT_ARMED (refused, nothing changed)."""
        if self.armed and self._timed_out():
            self.tick()
        off = tc.app_data_offset
        n = tc.app_data_len
        fid = buf[off] if cmd.function_id is not None else 0
        hazardous = cmd.hazardous and self._hazardous(app, cmd, buf, off, n, False)
        k = self._key
        same = k[0] == tc.apid and k[1] == tc.service and k[2] == tc.subtype and k[3] == fid
        crc = crc16(buf, off, off + n) if (same or hazardous) else 0
        same = same and k[4] == crc
        if hazardous and self.release_authorised:
            self._running(tc.apid, tc.service, tc.subtype, fid, crc, 1)
            return SCHEDULED
        if same and self.armed:  # consumed, even if its conditions do not hold now (the ground armed it)
            self.armed = 0
            self._running(tc.apid, tc.service, tc.subtype, fid, crc, 0)
            self.armed_now = True
            return ARMED
        if not hazardous:
            return PASS
        if self.armed:
            reason = REFUSED_MISMATCH
        elif same and self._lapsed:
            reason = REFUSED_EXPIRED
        else:
            reason = REFUSED_NOT_ARMED
        self.refused += 1
        self.services.events.raise_args(self._ev_refused, tc.apid, tc.service, tc.subtype, fid, crc, reason)
        return mdb.FAIL_NOT_ARMED

    def done(self, code):
        """The command ``check`` let run under an arm has finished with ``code`` (0: completed)."""
        self.armed_now = False
        if self._run_scheduled < 0:
            return
        r = self._run
        self.executed += 1
        self.services.events.raise_args(self._ev_executed, r[0], r[1], r[2], r[3], r[4], self._run_scheduled, code)
        self._run_scheduled = -1

    def _running(self, apid, service, subtype, function, crc, scheduled):
        r = self._run
        r[0] = apid
        r[1] = service
        r[2] = subtype
        r[3] = function
        r[4] = crc
        self._run_scheduled = scheduled

    # -- what is hazardous ------------------------------------------------------------------
    def _hazardous(self, app, cmd, buf, off, n, embedded):
        """Whether the declaration's conditions all hold for this command's application data.

        A command its application would refuse (wrong length, argument out of range) is not
        hazardous here: it goes on to be refused with its own code, and changes nothing."""
        decl = cmd.hazardous
        if decl is True:
            return True
        args = None
        if cmd.fmt is not None:
            if n != cmd.length:
                return False
            try:
                args = cmd.decode(buf, off, n)
            except ValueError:
                return False
        for cond in decl:
            if cond[0] == mdb.HAZ_STATE:
                if cond[1] == _EMBEDS:
                    if not self.embeds_hazardous(buf, off, n):
                        return False
                elif not embedded:  # embedded: the state at release is unknown, so it counts
                    answer = getattr(app, "hazard_state", None)
                    if answer is not None and not answer(cond[1], args):
                        return False
                continue
            if args is None:
                return True  # a condition on arguments the command does not have: be safe
            i = 0
            for a in cmd.args:
                if a[0] == cond[0]:
                    break
                i += 1
            if i >= len(args) or args[i] < cond[1] or args[i] > cond[2]:
                return False
        return True

    def packet_hazardous(self, buf, p, plen):
        """Whether the TC packet at ``buf[p:p + plen]`` (embedded in a TC[11,4]) is hazardous."""
        if plen < _TC_MIN_LEN or p + plen > len(buf):
            return False
        app = self._apps.get(((buf[p] & 0x07) << 8) | buf[p + 1])
        if app is None:
            return False
        service = buf[p + 7]
        ad = p + _TC_HEADER_LEN
        adn = plen - _TC_MIN_LEN
        fid = None
        if service == 8:
            if adn < 1:
                return False
            fid = buf[ad]
        cmd = app.commands.get((service, buf[p + 8], fid))
        if cmd is None or not cmd.hazardous:
            return False
        return self._hazardous(app, cmd, buf, ad, adn, True)

    def embeds_hazardous(self, buf, off, n):
        """Whether a TC[11,4]'s application data embeds a hazardous command (malformed: False,
        the schedule refuses it whole)."""
        end = off + n
        if n < 1 or end > len(buf):
            return False
        pos = off + 1
        for _ in range(buf[off]):
            p = pos + _ACTIVITY_TIME_LEN
            if p + 6 > end:
                return False
            plen = ((buf[p + 4] << 8) | buf[p + 5]) + 7
            if p + plen > end:
                return False
            if self.packet_hazardous(buf, p, plen):
                return True
            pos = p + plen
        return False
