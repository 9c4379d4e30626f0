"""The payload manager application (APID 0x010).

Hosts the services that are not one application's own: housekeeping
generation (3), event enable/disable (5), time management (9), the time-based
schedule (11) and parameter management (20); answers No-op, Reset-Counters and
are-you-alive like every application, and reports CPU and memory housekeeping.
"""

import gc
import struct

from bus import mdb
from payload.param_store import SAVE_COMMAND
from payload.pus_app import PusApp

# argument indices (bus.mdb COMMANDS) that failure reports point at (PusApp.fail_arg)
_ARG_SID = 1  # HK_*: n, sid, ...
_ARG_EVENT_ID = 1  # EVENT_*: n, event_id
_ARG_PID = 1  # PARAM_*: n, pid, value
_ARG_VALUE = 2
_ARG_RANGE_END = 2  # STORE_PLAYBACK_RANGE: days0, ms0, days1, ms1


class Manager(PusApp):
    def __init__(self, services, schedule, clock, reset_cause):
        self.params = None  # payload.parameters.ParameterTable, bound after every application exists
        self.hk = None  # payload.s3_housekeeping.Housekeeping, likewise
        self.store = None  # payload.packet_store.PacketStore (service 15), likewise
        self.tables = None  # payload.param_store.ParameterStore (TBL_SAVE, TBL_LOAD), likewise
        self.hazard = None  # payload.hazard_gate.HazardGate, likewise
        self.schedule = schedule
        self._clock = clock
        self._boot_ms = clock.ticks_ms()
        self.reset_cause = reset_cause
        self.uptime_s = 0
        self.heap_free_b = 0
        self._reply = bytearray(16)
        super().__init__(mdb.APID_MANAGER, "manager", services)

    def tick_1hz(self):
        """Slow housekeeping of the manager itself (1 Hz group)."""
        from hal.interface import ticks_diff

        self.uptime_s = ticks_diff(self._clock.ticks_ms(), self._boot_ms) // 1000
        self.heap_free_b = gc.mem_free() if hasattr(gc, "mem_free") else 0
        e = self.services.time.exponent
        if e and self.uptime_s % (1 << e) == 0:
            self.services.time.report(self.apid)

    # -- hazardous commands (TC[8,1] functions 2 and 3; payload.hazard_gate) --------------
    def cmd_haz_arm(self, args, tc):
        return self.hazard.arm(args[0], args[1], args[2], args[3], args[4])

    def cmd_haz_disarm(self, args, tc):
        return self.hazard.disarm()

    # -- parameter table (payload/param_store.py) -----------------------------------------
    def cmd_tbl_save(self, args, tc):
        return self.tables.save(SAVE_COMMAND)

    def cmd_tbl_load(self, args, tc):
        return self.tables.reload()

    # -- service 3 ----------------------------------------------------------------
    def _hk(self, sid):
        p = self.hk.find(sid)
        if p is None:
            self.fail_arg = _ARG_SID
        return p

    def cmd_hk_enable(self, args, tc):
        return self._hk_switch(args[1], True)

    def cmd_hk_disable(self, args, tc):
        return self._hk_switch(args[1], False)

    def _hk_switch(self, sid, on):
        p = self._hk(sid)
        if p is None:
            return mdb.FAIL_UNKNOWN_SID
        p.enabled = on
        p.countdown_s = p.interval_s
        self.services.events.raise_args(mdb.event("EV_HK_CHANGED")[0], sid, p.interval_s if on else 0)
        return 0

    def cmd_hk_one_shot(self, args, tc):
        p = self._hk(args[1])
        if p is None:
            return mdb.FAIL_UNKNOWN_SID
        self.hk.report(p)
        return 0

    def cmd_hk_set_interval(self, args, tc):
        p = self._hk(args[1])
        if p is None:
            return mdb.FAIL_UNKNOWN_SID
        p.interval_s = args[2]
        p.countdown_s = args[2]
        self.services.events.raise_args(mdb.event("EV_HK_CHANGED")[0], p.sid, p.interval_s)
        return 0

    # -- service 5 ----------------------------------------------------------------
    def cmd_event_enable(self, args, tc):
        return self._event_switch(args[1], True)

    def cmd_event_disable(self, args, tc):
        return self._event_switch(args[1], False)

    def _event_switch(self, event_id, on):
        ev = self.services.events
        if not ev.known(event_id):
            self.fail_arg = _ARG_EVENT_ID
            return mdb.FAIL_UNKNOWN_EVENT
        ev.enable(event_id, on)
        return 0

    # -- service 9 ----------------------------------------------------------------
    def cmd_time_set(self, args, tc):
        self.services.time.set(args[0], args[1])
        self.services.events.raise_args(mdb.event("EV_TIME_SET")[0], args[0], args[1])
        return 0

    def cmd_time_report_rate(self, args, tc):
        self.services.time.exponent = args[0]
        return 0

    # -- service 11 ---------------------------------------------------------------
    def cmd_sched_enable(self, args, tc):
        self.schedule.enabled = True
        return 0

    def cmd_sched_disable(self, args, tc):
        self.schedule.enabled = False
        return 0

    def cmd_sched_reset(self, args, tc):
        self.schedule.reset()
        return 0

    def cmd_sched_insert(self, args, tc):
        return self.schedule.insert(tc.buf, tc.app_data_offset, tc.app_data_len)

    def cmd_sched_delete(self, args, tc):
        return self.schedule.delete(args[1], args[2])

    def cmd_sched_list(self, args, tc):
        self.schedule.report(self.apid)
        return 0

    # -- service 15 (payload/packet_store.py) ---------------------------------------
    def cmd_store_enable(self, args, tc):
        return self.store.set_enabled(True)

    def cmd_store_disable(self, args, tc):
        return self.store.set_enabled(False)

    def cmd_store_playback(self, args, tc):
        return self.store.start_open()

    def cmd_store_playback_range(self, args, tc):
        code = self.store.start_range(args[0], args[1], args[2], args[3])
        if code == mdb.FAIL_STORE_RANGE:
            self.fail_arg = _ARG_RANGE_END
        return code

    def cmd_store_abort(self, args, tc):
        return self.store.abort()

    def cmd_store_delete(self, args, tc):
        return self.store.delete_until(args[0], args[1])

    def cmd_store_report(self, args, tc):
        s = self.store
        self.services.tm.send(self.apid, 15, 13, s.summary, s.summary_into())
        return 0

    # -- service 20 ---------------------------------------------------------------
    def cmd_param_get(self, args, tc):
        pid = args[1]
        if not self.params.known(pid):
            self.fail_arg = _ARG_PID
            return mdb.FAIL_UNKNOWN_PARAMETER
        value = self.params.get(pid)
        typ = mdb.parameter_by_id(pid)[2]
        fmt = ">BH" + mdb.TYPE_FORMATS[typ]
        struct.pack_into(fmt, self._reply, 0, 1, pid, value)
        self.services.tm.send(self.apid, 20, 2, self._reply, struct.calcsize(fmt))
        return 0

    def cmd_param_set(self, args, tc):
        pid, value = args[1], args[2]
        code = self.params.set(pid, value)
        if code == 0:
            self.services.events.raise_args(mdb.event("EV_PARAM_SET")[0], pid, value)
        else:  # out of the settable range: the value; unknown or read-only: the parameter
            self.fail_arg = _ARG_VALUE if code == mdb.FAIL_PARAM_RANGE else _ARG_PID
        return code
