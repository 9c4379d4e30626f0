"""The applications other than the manager, in their first form.

Each owns its APID, counters, events and housekeeping packet (declared in
bus/mdb.py); the photon-source, pointing and reliability issues grow them.
"""

from bus import mdb
from payload import apt_beam, ephemeris, phase_tune, retarder_loop, source_modes, vib_canceller
from payload.phase_tune import PhaseMatchTuner
from payload.pus_app import PusApp
from payload.quality import BASIS_DA, QualityMonitor
from payload.retarder_loop import RetarderLoop
from payload.source_monitor import SourceMonitor


_MODE_REFUSALS = {
    source_modes.REFUSED_INTERLOCK: mdb.FAIL_MODE_INTERLOCK,
    source_modes.REFUSED_NOT_LOCKED: mdb.FAIL_MODE_NOT_LOCKED,
    source_modes.REFUSED_NOT_PERMITTED: mdb.FAIL_MODE_NOT_PERMITTED,
    source_modes.REFUSED_MODE: mdb.FAIL_MODE_REFUSED,
    source_modes.REFUSED_UNKNOWN: mdb.FAIL_ARG_RANGE,
}
_TUNE_REFUSALS = {
    phase_tune.REFUSED_RANGE: mdb.FAIL_SCAN_RANGE,
    phase_tune.REFUSED_STEP: mdb.FAIL_SCAN_STEP,
}
# why a phase-matching scan started (EV_SRC_AUTOTUNE_START reason)
TUNE_ON_READY = 0
TUNE_ON_DROP = 1
TUNE_ON_COMMAND = 2
TUNE_TRACK_LIMIT_MK = 200  # reference-tracking error that ends a scan as a lost lock
# the lowest temperature a working crystal thermistor can report; below it the
# bridge is open or shorted (mK)
CRYSTAL_PLAUSIBLE_MK = (233150, 373150)


class SourceApp(PusApp):
    """Entangled-photon source (APID 0x020): modes, crystal, pump, calibration, quality.

    ``step()`` runs in the 10 Hz group after the crystal loop: the pump driver
    checks its interlocks first and cuts the current itself in the same step,
    then the mode machine moves (to SAFE on any interlock), the crystal loop and
    pump follow the mode, and the counters are read.

    Calibration, on entering READY (and when brightness falls while emitting):
    the phase-matching scan (payload/phase_tune.py), then, once, the retarder
    sweep (payload/retarder_loop.py); the pump runs at its power target
    throughout.  See docs/source.md.
    """

    def __init__(self, services, crystal, pump, hal, permission, pump_power_uw=37500):
        self.crystal = crystal  # payload.thermal_loop.CrystalThermalLoop
        self.pump = pump  # payload.pump_laser.PumpLaser
        self.modes = source_modes.SourceModes(hal.clock)
        self.modes.on_change = self._mode_changed
        self._permission = permission  # .value(): fine tracking on every beam, stations above the mask
        self.quality = QualityMonitor()
        self.monitor = SourceMonitor(hal, hal.digital_out["basis_select"], self.quality)
        self.monitor.on_update = self._quality_updated
        self.tuner = PhaseMatchTuner(crystal, mdb.parameter("crystal_set_point_mk")[7])
        self.tuner.on_finish = self._tune_finished
        self.retarder = RetarderLoop(hal.analog_out["lc_retarder"])
        pump.set_power(pump_power_uw)
        self.autotune_on_ready = 1  # scan on entering READY
        self.auto_emit = 0  # READY -> EMITTING by itself once calibrated and permitted
        self.on_settings = None  # callable(what): a persisted setting moved (payload/param_store.py)
        self.resume_without_tune = False  # restored after a reset: no scan on the next READY
        self.drop_fraction_pm = 200  # brightness fall (per mille) that starts a new scan
        self.drop_persist_s = 5  # ... held for this many quality updates
        self.brightness = 0.0  # corrected pairs/s per mW of pump (last update)
        self.brightness_ref = 0.0  # the same just after the last calibration (0: not yet)
        self._low = 0
        self._ev_mode = mdb.event("EV_SRC_MODE")[0]
        self._ev_interlock = mdb.event("EV_SRC_INTERLOCK")[0]
        self._ev_tune_start = mdb.event("EV_SRC_AUTOTUNE_START")[0]
        self._ev_tune = mdb.event("EV_SRC_AUTOTUNE")[0]
        self._ev_retarder = mdb.event("EV_SRC_RETARDER_LOCK")[0]
        super().__init__(mdb.APID_SOURCE, "source", services)

    @property
    def calibrating(self):
        return self.tuner.active or self.retarder.sweeping

    @property
    def pump_on(self):
        """The pump may run: emitting, or calibrating in a locked mode."""
        m = self.modes.mode
        return m == source_modes.EMITTING or (self.calibrating and (m == source_modes.READY
                                                                    or m == source_modes.STANDBY))

    def _mode_changed(self, old, new):
        self.services.events.raise_args(self._ev_mode, old, new)
        if self.on_settings is not None:
            self.on_settings("mode")
        if new == source_modes.SAFE:
            p = self.pump
            self.services.events.raise_args(self._ev_interlock, self.modes.interlocks, p.measured_ua,
                                            p.diode_temp_mk)
        if new in (source_modes.OFF, source_modes.WARMUP, source_modes.SAFE, source_modes.LOCKING):
            self.tuner.abort()
            self.retarder.stop()
            self.monitor.hold_da = False
        elif new == source_modes.READY and old == source_modes.LOCKING and self.resume_without_tune:
            self.resume_without_tune = False  # the restored set point is the last scan's result
        elif new == source_modes.READY and old == source_modes.LOCKING and self.autotune_on_ready:
            self._start_tune(TUNE_ON_READY, None, None)
        elif new == source_modes.EMITTING:
            self.retarder.resume()
        elif old == source_modes.EMITTING and not self.calibrating:
            self.retarder.stop()

    def _start_tune(self, reason, half_range_mk, step_mk):
        code = self.tuner.start(None, half_range_mk, step_mk)
        if code == phase_tune.OK:
            t = self.tuner
            self.brightness_ref = 0.0
            self._low = 0
            self.services.events.raise_args(self._ev_tune_start, reason, t.centre_mk, t.half_range_mk, t.step_mk)
            if self.on_settings is not None:
                self.on_settings("tune_start")
        return code

    def _tune_finished(self, tuner):
        self.services.events.raise_args(self._ev_tune, tuner.state, tuner.found_mk,
                                        tuner.found_mk - tuner.centre_mk, tuner.peak_counts)
        if self.on_settings is not None:
            self.on_settings("tune_end")  # DONE: set point at the peak; FAILED: back at the centre
        if self.retarder.state == retarder_loop.OFF:
            self.retarder.start()
            self.monitor.hold_da = True

    def _quality_updated(self, basis):
        q = self.quality
        r = self.retarder
        if basis == BASIS_DA:
            was_sweeping = r.sweeping
            r.on_da(q.correlation[BASIS_DA])
            self.monitor.hold_da = r.sweeping
            if was_sweeping and not r.sweeping:
                q.visibility[BASIS_DA] = -1.0  # measured at sweep points: re-measure where it tracks
                self.services.events.raise_args(self._ev_retarder, r.theta_mrad, int(r.best_corr * 1000))
        p_uw = self.pump.power_uw
        self.brightness = q.pair_rate_hz * 1000.0 / p_uw if p_uw > 0 else 0.0
        if self.modes.mode != source_modes.EMITTING or self.calibrating or not self.crystal.held:
            self._low = 0
            return
        if self.brightness_ref <= 0.0:
            self.brightness_ref = self.brightness
            return
        if self.brightness * 1000.0 < self.brightness_ref * (1000 - self.drop_fraction_pm):
            self._low += 1
            if self._low >= self.drop_persist_s and self.autotune_on_ready:
                self._start_tune(TUNE_ON_DROP, None, None)
        else:
            self._low = 0

    def permission_lost(self):
        """The pointing withdrew the emission permission (100 Hz): leave EMITTING and cut the pump at
        once, rather than up to a 10 Hz period later."""
        if self.modes.mode == source_modes.EMITTING:
            self.modes.step(self.crystal.set_point_error_mk, False, self.modes.interlocks)
            if not self.pump_on:
                self.pump.cut()

    def step(self):
        modes = self.modes
        crystal = self.crystal
        il = self.pump.step(self.pump_on)
        t = crystal.temp_mk
        if t < CRYSTAL_PLAUSIBLE_MK[0] or t > CRYSTAL_PLAUSIBLE_MK[1]:
            il |= source_modes.IL_CRYSTAL_SENSOR
        err = crystal.set_point_error_mk
        if self.tuner.active:
            # the tuner moves the set point on purpose: lock means following the reference,
            # and a slew lags it by a few tens of mK; only a gross lag is a lost lock
            e = crystal.error_mk
            err = e if (e > TUNE_TRACK_LIMIT_MK or e < -TUNE_TRACK_LIMIT_MK) else 0
        permitted = self._permission.value()
        modes.step(err, permitted, il)
        pump_on = self.pump_on
        if not pump_on:
            self.pump.cut()
        crystal.enabled = modes.thermal_on and not (il & source_modes.IL_CRYSTAL_SENSOR)
        p = self.pump
        self.monitor.step(pump_on and p.set_ua > 0 and p.set_ua == p.target_ua)
        self.tuner.step(self.monitor.cycle_coincidences)
        if (self.auto_emit and (modes.mode == source_modes.READY or modes.mode == source_modes.STANDBY)
                and permitted and not self.calibrating):
            modes.command(source_modes.EMITTING)

    def cmd_src_mode(self, args, tc):
        code = self.modes.command(args[0])
        if code:
            return _MODE_REFUSALS[code]
        if not self.pump_on:
            self.pump.cut()
        return 0

    def cmd_src_pump_current(self, args, tc):
        if self.pump.set_current(args[0]):
            if self.on_settings is not None:
                self.on_settings("pump")  # the power target is 0 now
            return 0
        self.fail_arg = 0
        return mdb.FAIL_ARG_RANGE

    def set_pump_power(self, power_uw):
        """A new pump power target (telecommand or FDIR derating), told to the parameter table."""
        if not self.pump.set_power(power_uw):
            return False
        if self.on_settings is not None:
            self.on_settings("pump")
        return True

    def cmd_src_pump_power(self, args, tc):
        if self.set_pump_power(args[0]):
            return 0
        self.fail_arg = 0
        return mdb.FAIL_ARG_RANGE

    def cmd_src_autotune(self, args, tc):
        if self.modes.mode not in (source_modes.READY, source_modes.STANDBY, source_modes.EMITTING):
            return mdb.FAIL_MODE_NOT_LOCKED
        if self.tuner.active:
            return mdb.FAIL_BUSY
        code = self._start_tune(TUNE_ON_COMMAND, args[0], args[1])
        if code:
            self.fail_arg = 0 if code == phase_tune.REFUSED_RANGE else 1  # half_range_mk, step_mk
            return _TUNE_REFUSALS[code]
        return 0

    def cmd_src_retarder_sweep(self, args, tc):
        if self.modes.mode not in (source_modes.READY, source_modes.STANDBY, source_modes.EMITTING):
            return mdb.FAIL_MODE_NOT_LOCKED
        if self.tuner.active:
            return mdb.FAIL_BUSY
        self.retarder.start()
        self.monitor.hold_da = True
        return 0


_EPHEM_REFUSALS = {
    ephemeris.REFUSED_NO_TABLE: mdb.FAIL_EPHEM_NO_TABLE,
    ephemeris.REFUSED_INDEX: mdb.FAIL_EPHEM_INDEX,
    ephemeris.REFUSED_INCOMPLETE: mdb.FAIL_EPHEM_INCOMPLETE,
    ephemeris.REFUSED_CRC: mdb.FAIL_EPHEM_CRC,
    ephemeris.REFUSED_TRAVEL: mdb.FAIL_EPHEM_TRAVEL,
    ephemeris.REFUSED_RATE: mdb.FAIL_EPHEM_RATE,
    ephemeris.REFUSED_ELEVATION: mdb.FAIL_EPHEM_ELEVATION,
    ephemeris.REFUSED_SIZE: mdb.FAIL_EPHEM_SIZE,
}


# why the sync laser changed (EV_APT_SYNC_LASER reason)
SYNC_BY_COMMAND = 0
SYNC_BY_TRACKING = 1  # a beam started or stopped tracking a station above the mask
SYNC_NO_BEAM = 2  # every beam idle: the command is cancelled


class PointingApp(PusApp):
    """Acquisition, pointing and tracking (APID 0x030): two beams, their ephemerides, the
    vibration cancellers, the beacon and sync lasers and the emission permission.

    ``step()`` runs in the 100 Hz coarse group: each beam's state machine
    (payload/apt_beam.py), one canceller table refresh per beam, then the
    eye-safety outputs.  The beacon laser shines only while a beam tracks
    (COARSE or FINE) a station above the elevation mask; the sync laser, once
    commanded on (SYNC_LASER), under the same condition, and the command is
    cancelled when every beam is idle (APT_STOP, end of the ephemeris), so it
    never carries over to the next pass; quantum emission is permitted only
    while ``emit_beams`` beams (both, by default: a pair needs both stations)
    are in FINE on stations above the mask (``emission_permitted``, the
    source's permission).  See docs/pointing.md.
    """

    def __init__(self, services, beams, apt, cancellers, beacon_out, egse_permit, sync_out):
        self.beams = beams  # FinePointingLoop per beam
        self.apt = apt  # BeamPointing per beam
        self.cancellers = cancellers
        self._beacon = beacon_out  # HAL DigitalOut beacon_enable
        self._egse = egse_permit  # HAL DigitalIn: ground-test permit (strapped off in flight)
        self._sync = sync_out  # HAL DigitalOut sync_enable: gates the sync pulse train (hal.interface.SYNC_PERIOD_US)
        self.emission_permitted = False
        self.emit_beams = len(beams)  # beams that must be in fine track on a station above the mask
        self.beacon_on = False  # a beam tracks (COARSE or FINE) a station above the mask
        self.sync_armed = False  # SYNC_LASER on received and not cancelled since
        self.sync_on = False  # the sync laser's gate: armed and beacon_on
        self._ev_state = mdb.event("EV_APT_STATE")[0]
        self._ev_lost = mdb.event("EV_APT_LOCK_LOST")[0]
        self._ev_ephem = mdb.event("EV_APT_EPHEM")[0]
        self._ev_vib = mdb.event("EV_APT_VIB_MODE")[0]
        self._ev_tone = mdb.event("EV_APT_TONE")[0]
        self._ev_sync = mdb.event("EV_APT_SYNC_LASER")[0]
        self._tone_locked = [False] * len(beams)
        self.on_permission_lost = None  # callable(): the source's immediate stop (SourceApp.permission_lost)
        self._ticks = 0
        for b in apt:
            b.on_change = self._state_changed
        super().__init__(mdb.APID_POINTING, "pointing", services)

    def _state_changed(self, beam, old, new):
        self.services.events.raise_args(self._ev_state, beam, old, new)
        if new == apt_beam.LOST:
            self.services.events.raise_args(self._ev_lost, beam, self.apt[beam].loss_count)

    def value(self):
        """Emission permission as the source reads it (a DigitalIn-like object)."""
        return self.emission_permitted or self._egse.value()

    def step(self):
        self._ticks += 1
        active = 0
        fine = 0
        beacon = False
        apt = self.apt
        for i in range(len(apt)):
            b = apt[i]
            b.step()
            if b.state != apt_beam.IDLE:
                active += 1
                if b.state == apt_beam.FINE and b.in_view:
                    fine += 1
                if b.tracking and b.in_view:
                    beacon = True
            c = self.cancellers[i]
            if self._ticks & 3 == 0:  # 25 Hz: a table every 40 ms, all six in a quarter second
                c.refresh()
            locked = c.tone_state == vib_canceller.LOCK
            if locked and not self._tone_locked[i]:
                self.services.events.raise_args(self._ev_tone, i, c.tone_mhz)
            self._tone_locked[i] = locked
        permitted = fine >= self.emit_beams
        if self.emission_permitted and not permitted and self.on_permission_lost is not None:
            self.emission_permitted = False
            self.on_permission_lost()  # the source stops emitting now, not at its next 10 Hz step
        self.emission_permitted = permitted
        if beacon != self.beacon_on:
            self.beacon_on = beacon
            self._beacon.set(beacon)
        if self.sync_armed and not active:
            self.sync_armed = False
            self._sync_update(SYNC_NO_BEAM, True)
        elif self.sync_on != (self.sync_armed and beacon):
            self._sync_update(SYNC_BY_TRACKING, False)

    def _sync_update(self, reason, armed_changed):
        """Drive the sync gate from ``sync_armed`` and ``beacon_on``; an event when anything changed."""
        on = self.sync_armed and self.beacon_on
        if on == self.sync_on and not armed_changed:
            return
        self.sync_on = on
        self._sync.set(on)
        self.services.events.raise_args(self._ev_sync, 1 if on else 0, 1 if self.sync_armed else 0, reason)

    def end_of_second(self):
        """Restart the fine loops' statistics once housekeeping has reported them (1 Hz)."""
        for loop in self.beams:
            loop.reset_stats()

    def cmd_apt_fine_enable(self, args, tc):
        self.beams[args[0]].enabled = bool(args[1])
        self.services.events.raise_args(mdb.event("EV_FINE_MODE")[0], args[0], args[1])
        return 0

    def _ephem_result(self, code, arg):
        if code:
            self.fail_arg = arg
            return _EPHEM_REFUSALS[code]
        return 0

    def cmd_apt_ephem_begin(self, args, tc):
        e = self.apt[args[0]].ephem
        return self._ephem_result(e.begin(args[1], args[2], args[3], args[4]), 3)

    def cmd_apt_ephem_points(self, args, tc):
        e = self.apt[args[0]].ephem
        base = args[1]
        for k in range(4):
            o = 2 + 5 * k
            code = e.put(base + k, args[o], args[o + 1], args[o + 2], args[o + 3], args[o + 4])
            if code == ephemeris.REFUSED_INDEX and k > 0:
                break  # the last block of a table may be short: points past the end are ignored
            if code:
                return self._ephem_result(code, 1)
        return 0

    def cmd_apt_ephem_commit(self, args, tc):
        b = self.apt[args[0]]
        if b.state != apt_beam.IDLE:
            return mdb.FAIL_MODE_REFUSED  # never swap the table under a beam that uses it
        code = b.ephem.commit(args[1])
        if code:
            return self._ephem_result(code, 1)
        self.services.events.raise_args(self._ev_ephem, args[0], b.ephem._live.n, b.ephem.span_ms // 1000)
        return 0

    def cmd_apt_start(self, args, tc):
        b = self.apt[args[0]]
        if b.state != apt_beam.IDLE:
            return mdb.FAIL_MODE_REFUSED
        if not self.services.time.valid:
            return mdb.FAIL_TIME_NOT_SET
        code = b.start()
        if code == ephemeris.REFUSED_NO_TABLE:
            return mdb.FAIL_EPHEM_NO_TABLE
        if code:
            return mdb.FAIL_EPHEM_STALE
        return 0

    def hazard_state(self, check, args):
        """The hazard gate's state question (bus.mdb APT_START): does beam ``args[0]``'s committed
        ephemeris come within HAZ_TRAVEL_MARGIN_URAD of the gimbal's travel?  No table: no (the start
        is refused anyway).  Any other question: yes (unknown means hazardous)."""
        if check != "near_travel_limit" or args is None:
            return True
        e = self.apt[args[0]].ephem
        if not e.valid:
            return False
        t = e._live
        near = mdb.GIMBAL_TRAVEL_URAD - mdb.HAZ_TRAVEL_MARGIN_URAD
        for i in range(t.n):
            if t.a[i] >= near or t.a[i] <= -near or t.c[i] >= near or t.c[i] <= -near:
                return True
        return False

    def cmd_apt_stop(self, args, tc):
        self.apt[args[0]].stop()
        return 0

    def cmd_apt_vib_mode(self, args, tc):
        self.beams[args[0]].mode = args[1]
        self.services.events.raise_args(self._ev_vib, args[0], args[1])
        return 0

    def cmd_sync_laser(self, args, tc):
        armed = args[0] == 1
        if armed:
            idle = True
            for b in self.apt:
                if b.state != apt_beam.IDLE:
                    idle = False
            if idle:
                return mdb.FAIL_SYNC_NO_BEAM
        changed = armed != self.sync_armed
        self.sync_armed = armed
        self._sync_update(SYNC_BY_COMMAND, changed)
        return 0


class FdirApp(PusApp):
    """Fault management (APID 0x040): the monitors of payload/fdir.py and their switch (FDIR_ENABLE)."""

    def __init__(self, services, core=None):
        self.core = core  # payload.fdir.Fdir
        super().__init__(mdb.APID_FDIR, "fdir", services)

    def cmd_fdir_enable(self, args, tc):
        if self.core is None or not self.core.set_enabled(args[0], args[1]):
            self.fail_arg = 0
            return mdb.FAIL_ARG_RANGE
        return 0
