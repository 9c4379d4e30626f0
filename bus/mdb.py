"""The mission database: every packet, parameter, command and event, declared once.

Plain tuples that MicroPython imports as they are.  From these declarations come
the flight codecs (struct formats built at boot, ``bus.mdb_codec``), the ground's
construct decoders (``ground_segment.mdb_decode``), the operator tools' command
syntax, docs/icd.md and the XTCE export.  Nobody writes a packet layout twice.

Conventions
-----------
Types: ``u8 i8 u16 i16 u32 i32 f32`` (big-endian on the wire).
Parameter: ``(pid, name, type, unit, source, calib, limits, settable, description)``
  - ``source`` ``"object.attr"``: the flight attribute the value comes from; the
    application binds the object name at boot (``payload.pus_app``).
  - ``calib`` None (engineering = raw), ``("lin", scale, offset, eng_unit)`` or
    ``("enum", ((raw, text), ...))``.
  - ``limits`` None or ``(red_lo, yellow_lo, yellow_hi, red_hi)`` in raw units; the
    ground monitors them with persistence.
  - ``settable`` None or ``(min, max)``: service 20 may set it within that range.
Housekeeping packet: ``(sid, apid, name, default_interval_s, (parameter names))``.
Command: ``(name, apid, service, subtype, function_id, args, hazardous, description)``;
  ``function_id`` is the first application-data octet of TC[8,1], None elsewhere;
  an argument is ``(name, type, min, max, unit)``.  ``hazardous`` says whether the
  command *can* be hazardous (truthy) and when: False never, True always, or a
  tuple of conditions that must all hold: ``(arg, min, max)`` the argument's value
  lies in ``min..max``, or ``(HAZ_STATE, check, text)`` the owning application's
  ``hazard_state(check, args)`` answers (on board; the ground, which cannot see
  that state, counts it as hazardous).  A hazardous command runs only when armed
  (HAZ_ARM; payload/hazard_gate.py, docs/hazardous_commands.md).  Commands whose application
  data is not a fixed list of arguments (TC[11,4] embeds packets; TC[3,5] takes a
  counted list) have ``args`` None and their own layout in docs/icd.md.
Event: ``(event_id, name, severity, apid, args, text)``; severity 1 informative,
  2 low, 3 medium, 4 high (TM[5,severity]); ``args`` as for commands without ranges.
"""

from bus.compat import const

# -- link and spacecraft ------------------------------------------------------------
SPACECRAFT_ID = const(0x1A5)  # 10-bit TC/TM SCID (not assigned by SANA: emulation only)
TM_FRAME_LEN = const(1115)  # octets, fixed, including header, OCF and FECF
TC_FRAME_MAX_LEN = const(512)  # octets; the board's TC buffer
TC_PACKET_MAX_LEN = const(482)  # octets: one packet per frame, less header 5, segment header 1,
#   security header 6, MAC 16 (bus.sdls), FECF 2
TC_AUTH_SPI_DEFAULT = const(1)  # SPI the ground signs with unless told otherwise (bus.sdls, docs/security.md)
SCHEDULE_MAX_ACTIVITIES = const(16)  # service 11: time-tagged commands the payload holds at once
SCHEDULE_SLOT_LEN = const(256)  # service 11: largest time-tagged TC packet (octets)
TC_VCID = const(0)  # the one TC virtual channel (COP-1 on it)
VC_REALTIME = const(0)  # TM: real-time housekeeping, events, verification, reports
VC_PLAYBACK = const(1)  # TM: stored playback (packet store)
VC_IDLE = const(7)  # TM: idle frames
FARM_WINDOW = const(20)  # FARM-1 sliding window width W (>= 2K, FOP-1 K = 10)
TIME_EPOCH = "1958-01-01T00:00:00 (CCSDS level-1 CDS epoch)"
PORT_LAB = const(7301)  # UDP: raw space packets, one per datagram (development port)
PORT_SPACE_TC = const(7302)  # UDP: CLTUs or bare TC frames of the space link
PORT_SPACE_TM = const(7303)  # UDP: TM frames to the ground station service
PORT_GROUND_OPS = const(7310)  # TCP loopback: operator tools to `qsat ground`

# -- application process identifiers -------------------------------------------------
APID_MANAGER = const(0x010)  # payload manager: scheduler, time, test, parameters, storage, CPU/memory
APID_SOURCE = const(0x020)  # entangled-photon source
APID_POINTING = const(0x030)  # acquisition, pointing and tracking
APID_FDIR = const(0x040)  # fault management
APID_SECURITY = const(0x050)  # key store and TC authentication (SDLS)
APID_IDLE = const(0x7FF)

APPLICATIONS = (
    # (apid, name, description)
    (APID_MANAGER, "manager", "payload manager: scheduler, time, test, parameters, storage, CPU and memory"),
    (APID_SOURCE, "source", "entangled-photon source controller"),
    (APID_POINTING, "pointing", "acquisition, pointing and tracking of the two quantum beams"),
    (APID_FDIR, "fdir", "fault detection, isolation and recovery"),
    (APID_SECURITY, "security", "key store and telecommand authentication (SDLS style)"),
)

TYPE_FORMATS = {"u8": "B", "i8": "b", "u16": "H", "i16": "h", "u32": "I", "i32": "i", "f32": "f"}
TYPE_RANGES = {
    "u8": (0, 0xFF), "i8": (-0x80, 0x7F), "u16": (0, 0xFFFF), "i16": (-0x8000, 0x7FFF),
    "u32": (0, 0xFFFFFFFF), "i32": (-0x80000000, 0x7FFFFFFF),
}

# -- verification failure codes (TM[1,2], [1,4], [1,8]) beyond the packet-level
#    codes of bus.pus: (code, name, text).  The ground prints the text.
FAIL_ILLEGAL_APID = const(0x0101)
FAIL_ILLEGAL_SERVICE = const(0x0102)
FAIL_ILLEGAL_SUBTYPE = const(0x0103)
FAIL_ILLEGAL_FUNCTION = const(0x0104)
FAIL_LENGTH = const(0x0105)
FAIL_ARG_RANGE = const(0x0106)
FAIL_UNKNOWN_PARAMETER = const(0x0107)
FAIL_PARAM_READ_ONLY = const(0x0108)
FAIL_PARAM_RANGE = const(0x0109)
FAIL_UNKNOWN_SID = const(0x010A)
FAIL_UNKNOWN_EVENT = const(0x010B)
FAIL_SCHEDULE_FULL = const(0x010C)
FAIL_SCHEDULE_NOT_FOUND = const(0x010D)
FAIL_TIME_NOT_SET = const(0x010E)
FAIL_RELEASE_IN_PAST = const(0x010F)
FAIL_SCHEDULE_ENTRY = const(0x0110)
FAIL_MODE_INTERLOCK = const(0x0111)
FAIL_MODE_NOT_LOCKED = const(0x0112)
FAIL_MODE_NOT_PERMITTED = const(0x0113)
FAIL_MODE_REFUSED = const(0x0114)
FAIL_SCAN_RANGE = const(0x0115)
FAIL_SCAN_STEP = const(0x0116)
FAIL_BUSY = const(0x0117)
FAIL_EPHEM_NO_TABLE = const(0x0118)
FAIL_EPHEM_INDEX = const(0x0119)
FAIL_EPHEM_INCOMPLETE = const(0x011A)
FAIL_EPHEM_CRC = const(0x011B)
FAIL_EPHEM_TRAVEL = const(0x011C)
FAIL_EPHEM_RATE = const(0x011D)
FAIL_EPHEM_ELEVATION = const(0x011E)
FAIL_EPHEM_SIZE = const(0x011F)
FAIL_EPHEM_STALE = const(0x0120)
FAIL_SYNC_NO_BEAM = const(0x0121)
FAIL_SEC_SPI = const(0x0122)
FAIL_SEC_NONCE = const(0x0123)
FAIL_SEC_LAST_SPI = const(0x0124)
FAIL_STORE_BUSY = const(0x0138)
FAIL_STORE_RANGE = const(0x0139)
FAIL_TBL_NONE = const(0x0140)
FAIL_TBL_WRITE = const(0x0141)
FAIL_INTERNAL = const(0x01FF)
CRYSTAL_SET_POINT_LIMITS_MK = (288150, 333150)  # settable crystal set points; scans stay inside
FAIL_NOT_ARMED = const(0x0130)
FAIL_HAZ_TARGET = const(0x0131)
# hazardous commands (docs/hazardous_commands.md): thresholds of the declarations below
HAZ_STATE = "state"  # a hazard condition the owning application answers from its state
PUMP_HIGH_CURRENT_UA = const(85000)  # above: high pump current (end-of-life Micius nominal 83.2 mA at 25 C)
PUMP_HIGH_POWER_UW = const(40000)  # above: beyond the 40 mW class of the pump diode (Micius nominal 37.5 mW)
GIMBAL_TRAVEL_URAD = const(1396263)  # +/- 80 deg: the X-Y mount's stops (payload/ephemeris.py)
HAZ_TRAVEL_MARGIN_URAD = const(87266)  # 5 deg: APT_START is hazardous when the table comes this near a stop
HAZ_ARM_TIMEOUT_S = const(30)  # default life of an arm (parameter hazard_arm_timeout_s, 1..300 s)
FAILURES = (
    (FAIL_ILLEGAL_APID, "ILLEGAL_APID", "no on-board application has this APID"),
    (FAIL_ILLEGAL_SERVICE, "ILLEGAL_SERVICE", "the application does not provide this service"),
    (FAIL_ILLEGAL_SUBTYPE, "ILLEGAL_SUBTYPE", "the service has no such message subtype here"),
    (FAIL_ILLEGAL_FUNCTION, "ILLEGAL_FUNCTION", "the application has no such function"),
    (FAIL_LENGTH, "WRONG_LENGTH", "application data length differs from the declaration"),
    (FAIL_ARG_RANGE, "ARGUMENT_OUT_OF_RANGE", "an argument is outside its declared range"),
    (FAIL_UNKNOWN_PARAMETER, "UNKNOWN_PARAMETER", "no parameter has this ID"),
    (FAIL_PARAM_READ_ONLY, "PARAMETER_READ_ONLY", "the parameter cannot be set"),
    (FAIL_PARAM_RANGE, "PARAMETER_OUT_OF_RANGE", "value outside the parameter's settable range"),
    (FAIL_UNKNOWN_SID, "UNKNOWN_SID", "no housekeeping packet has this SID"),
    (FAIL_UNKNOWN_EVENT, "UNKNOWN_EVENT", "no event has this ID"),
    (FAIL_SCHEDULE_FULL, "SCHEDULE_FULL", "the time-based schedule has no free slot"),
    (FAIL_SCHEDULE_NOT_FOUND, "SCHEDULE_NOT_FOUND", "no scheduled command has this request ID"),
    (FAIL_TIME_NOT_SET, "TIME_NOT_SET", "on-board time has not been set by the ground"),
    (FAIL_RELEASE_IN_PAST, "RELEASE_IN_PAST", "release time already passed"),
    (FAIL_SCHEDULE_ENTRY, "BAD_SCHEDULE_ENTRY", "an embedded command is malformed"),
    (FAIL_MODE_INTERLOCK, "INTERLOCK_OPEN", "an interlock is open: only OFF is accepted, once it closes"),
    (FAIL_MODE_NOT_LOCKED, "CRYSTAL_NOT_LOCKED", "emission needs the crystal locked (mode READY or STANDBY)"),
    (FAIL_MODE_NOT_PERMITTED, "EMISSION_NOT_PERMITTED", "no fine tracking on the beams or no station in view"),
    (FAIL_MODE_REFUSED, "MODE_CHANGE_REFUSED", "this mode cannot be asked for from the current mode"),
    (FAIL_SCAN_RANGE, "SCAN_OUT_OF_LIMITS", "the scan would take the crystal set point outside its limits "
     "%d..%d mK" % CRYSTAL_SET_POINT_LIMITS_MK),
    (FAIL_SCAN_STEP, "SCAN_STEP_INVALID", "scan step must be >= 1 mK and give at most 101 points"),
    (FAIL_BUSY, "BUSY", "a phase-matching scan is running: wait for EV_SRC_AUTOTUNE"),
    (FAIL_EPHEM_NO_TABLE, "EPHEMERIS_NONE", "no ephemeris table: send APT_EPHEM_BEGIN first (or commit one)"),
    (FAIL_EPHEM_INDEX, "EPHEMERIS_INDEX", "point index outside the table announced by APT_EPHEM_BEGIN"),
    (FAIL_EPHEM_INCOMPLETE, "EPHEMERIS_INCOMPLETE", "points missing: every point must arrive before the commit"),
    (FAIL_EPHEM_CRC, "EPHEMERIS_CRC", "the table's CRC-16 differs from the one sent: points corrupted or lost"),
    (FAIL_EPHEM_TRAVEL, "EPHEMERIS_TRAVEL", "an angle lies beyond the gimbal's travel (+/- 80 deg)"),
    (FAIL_EPHEM_RATE, "EPHEMERIS_RATE", "consecutive points further apart than the gimbal's 3 deg/s allows"),
    (FAIL_EPHEM_ELEVATION, "EPHEMERIS_ELEVATION", "an elevation outside -90..90 deg"),
    (FAIL_EPHEM_SIZE, "EPHEMERIS_SIZE", "step outside 100..10000 ms, points outside 2..256, or bad epoch"),
    (FAIL_EPHEM_STALE, "EPHEMERIS_STALE", "the ephemeris does not cover the present on-board time"),
    (FAIL_SYNC_NO_BEAM, "SYNC_NO_BEAM", "no beam is started (APT_START first): the sync laser would have no station to aim at"),
    (FAIL_SEC_SPI, "SEC_SPI_INVALID", "no such SPI: SPIs 1..3 authenticate frames (slot 0 is the KEK)"),
    (FAIL_SEC_NONCE, "SEC_NONCE_REUSED", "key-load nonce not larger than the last one: a keystream is never reused"),
    (FAIL_SEC_LAST_SPI, "SEC_LAST_SPI", "disabling the last enabled SPI would lock the uplink out"),
    (FAIL_STORE_BUSY, "STORE_BUSY", "a packet-store playback is in progress: STORE_ABORT it first"),
    (FAIL_STORE_RANGE, "STORE_RANGE", "playback time range ends before it starts"),
    (FAIL_TBL_NONE, "TABLE_NONE", "no usable parameter table in non-volatile storage (none saved, another layout, or both copies bad: EV_TBL_DEFAULTS said which)"),
    (FAIL_TBL_WRITE, "TABLE_WRITE", "the non-volatile store failed to write the parameter table"),
    (FAIL_NOT_ARMED, "NOT_ARMED", "hazardous command without a live HAZ_ARM for exactly this command "
     "(APID, service, subtype, function, CRC-16 of its application data): arm it first"),
    (FAIL_HAZ_TARGET, "HAZ_TARGET", "HAZ_ARM names no command that can be hazardous"),
    (FAIL_INTERNAL, "INTERNAL_ERROR", "the command's handler failed on board (a flight software fault)"),
)

_ONOFF = ("enum", ((0, "OFF"), (1, "ON")))
_RESET = ("enum", ((1, "POWER_ON"), (3, "WATCHDOG"), (5, "SOFT")))
_MK_TO_C = ("lin", 0.001, -273.15, "degC")
_SRC_MODES = ("enum", ((0, "OFF"), (1, "WARMUP"), (2, "LOCKING"), (3, "READY"), (4, "EMITTING"), (5, "STANDBY"),
                       (6, "SAFE")))

_TUNE_STATES = ("enum", ((0, "IDLE"), (1, "SCANNING"), (2, "SETTLING"), (3, "DONE"), (4, "FAILED")))
_RETARDER_STATES = ("enum", ((0, "OFF"), (1, "SWEEP"), (2, "TRACK")))
_BASES = ("enum", ((0, "HV"), (1, "DA")))

_APT_STATES = ("enum", ((0, "IDLE"), (1, "OPEN_LOOP"), (2, "ACQUISITION"), (3, "COARSE"), (4, "FINE"),
                        (5, "LOST")))
_VIB_MODES = ("enum", ((0, "OPEN"), (1, "FEEDBACK"), (2, "FEEDFORWARD")))
_TBL_STATES = ("enum", ((0, "LOADED"), (1, "NONE_STORED"), (2, "LAYOUT_CHANGED"), (3, "BOTH_BAD")))

# -- parameters ---------------------------------------------------------------------
PARAMETERS = (
    # manager (0x0100..)
    (0x0101, "uptime_s", "u32", "s", "manager.uptime_s", None, None, None, "time since boot"),
    (0x0102, "reset_cause", "u8", "", "manager.reset_cause", _RESET, None, None, "cause of the last reset"),
    (0x0103, "mgr_cmd_accepted", "u16", "", "manager.cmd_accepted", None, None, None, "commands accepted by the manager"),
    (0x0104, "mgr_cmd_rejected", "u16", "", "manager.cmd_rejected", None, None, None, "commands rejected by the manager"),
    (0x0105, "tc_frames_accepted", "u16", "", "link.frames_accepted", None, None, None, "TC frames accepted by FARM-1"),
    (0x0106, "tc_frames_rejected", "u16", "", "link.frames_rejected", None, None, None, "TC frames rejected (any reason)"),
    (0x0107, "tc_packets_rejected", "u16", "", "router.packets_rejected", None, None, None, "TC packets failing acceptance"),
    (0x0108, "tm_packets_sent", "u32", "", "link.packets_sent", None, None, None, "TM packets queued for downlink"),
    (0x0109, "tm_packets_dropped", "u16", "", "link.packets_dropped", None, (0, 0, 0, 1), None, "TM packets refused: VC queue full"),
    (0x010A, "fine_runs", "u32", "", "fine.runs", None, None, None, "fine rate group releases run"),
    (0x0115, "thermal_runs", "u32", "", "thermal.runs", None, None, None, "thermal rate group releases run"),
    (0x0116, "tc_octets_skipped", "u32", "", "link.octets_skipped", None, None, None,
     "uplink octets outside any CLTU, passed over while hunting for the start sequence (stream link)"),
    (0x010B, "fine_overruns", "u16", "", "fine.overruns", None, (0, 0, 0, 1), None, "fine rate group overruns"),
    (0x010C, "fine_slips", "u16", "", "fine.slips", None, (0, 0, 0, 1), None, "fine rate group releases missed"),
    (0x010D, "fine_max_exec_us", "u16", "us", "fine.max_exec_us", None, (0, 0, 700, 1000), None, "longest fine group execution"),
    (0x010E, "coarse_overruns", "u16", "", "coarse.overruns", None, (0, 0, 0, 1), None, "coarse rate group overruns"),
    (0x010F, "thermal_overruns", "u16", "", "thermal.overruns", None, (0, 0, 0, 1), None, "thermal rate group overruns"),
    (0x0110, "heap_free_b", "u32", "B", "manager.heap_free_b", None, (8192, 32768, 0xFFFFFFFF, 0xFFFFFFFF), None, "MicroPython heap free (0 on CPython)"),
    (0x0111, "schedule_enabled", "u8", "", "schedule.enabled", _ONOFF, None, None, "time-tagged schedule running"),
    (0x0112, "schedule_entries", "u16", "", "schedule.count", None, None, None, "time-tagged commands waiting"),
    (0x0113, "events_generated", "u16", "", "events.generated", None, None, None, "event reports generated"),
    (0x0114, "time_valid", "u8", "", "time.valid", _ONOFF, None, None, "on-board time set by the ground"),
    (0x0128, "store_records", "u32", "", "store.count", None, None, None, "TM packets held in the packet store"),
    (0x0129, "store_used_b", "u32", "B", "store.used_octets", None, None, None,
     "packet store octets holding records (2-octet length prefix each)"),
    (0x012A, "store_capacity_b", "u32", "B", "store.size_octets", None, None, None, "packet store size"),
    (0x012B, "store_overwritten", "u32", "", "store.overwritten", None, (0, 0, 0, 0xFFFFFFFF), None,
     "oldest records overwritten by newer ones since boot (store full)"),
    (0x012C, "store_enabled", "u8", "", "store.enabled", _ONOFF, None, None, "packet store recording"),
    (0x012D, "store_playback", "u8", "", "store.mode", ("enum", ((0, "IDLE"), (1, "OPEN"), (2, "RANGE"))), None,
     None, "playback in progress: OPEN every record not yet played back, RANGE a time range"),
    (0x012E, "store_unplayed", "u32", "", "store.unplayed", None, None, None,
     "records not yet played back (open retrieval)"),
    (0x012F, "store_played", "u32", "", "store.played", None, None, None, "packets played back since boot"),
    (0x0130, "tbl_state", "u8", "", "tables.state", _TBL_STATES, None, None,
     "parameter table at boot: LOADED from non-volatile storage, or defaults and why"),
    (0x0131, "tbl_seq", "u16", "", "tables.seq", None, None, None,
     "sequence number of the stored parameter table copy last loaded or saved"),
    (0x0132, "tbl_saves", "u16", "", "tables.saves", None, None, None, "parameter table saves since boot"),
    (0x0133, "tbl_scrub_repairs", "u16", "", "tables.repairs", None, None, None,
     "live parameters found differing from the RAM shadow and restored (bit flips) since boot"),
    (0x0134, "tbl_refused", "u8", "", "tables.refused", None, None, None,
     "stored values refused at the last table load (outside their settable range)"),
    (0x0135, "boot_count", "u16", "", "tables.boot_count", None, None, None,
     "boots recorded in the parameter table (persisted)"),
    (0x0136, "watchdog_resets", "u16", "", "tables.watchdog_resets", None, None, None,
     "boots after a watchdog reset recorded in the parameter table (persisted)"),
    (0x0137, "pump_power_target_uw", "u32", "uW", "pump.power_target_uw", None, None, None,
     "optical power the pump loop holds (SRC_PUMP_POWER; 0: current target, SRC_PUMP_CURRENT)"),
    (0x0120, "hazard_arm_timeout_s", "u16", "s", "hazard.arm_timeout_s", None, None, (1, 300),
     "life of a HAZ_ARM: the armed command must arrive within it"),
    (0x0121, "haz_armed", "u8", "", "hazard.armed", _ONOFF, None, None, "a hazardous command is armed"),
    (0x0122, "haz_arms", "u16", "", "hazard.arms", None, None, None, "HAZ_ARM accepted"),
    (0x0123, "haz_executed", "u16", "", "hazard.executed", None, None, None,
     "armed commands executed (and hazardous activities released from an armed TC[11,4])"),
    (0x0124, "haz_refused", "u16", "", "hazard.refused", None, None, None, "hazardous commands refused: not armed"),
    (0x0125, "haz_expired", "u16", "", "hazard.expired", None, None, None, "arms ended unused (timeout, disarm, replaced)"),
    # source (0x0200..)
    (0x0201, "src_cmd_accepted", "u16", "", "source.cmd_accepted", None, None, None, "commands accepted by the source"),
    (0x0202, "src_cmd_rejected", "u16", "", "source.cmd_rejected", None, None, None, "commands rejected by the source"),
    (0x0203, "crystal_temp_mk", "i32", "mK", "crystal.temp_mk", _MK_TO_C, (288150, 293150, 303150, 308150), None, "PPKTP crystal temperature"),
    (0x0204, "crystal_error_mk", "i32", "mK", "crystal.error_mk", None, (-100, -10, 10, 100), None, "set point minus temperature"),
    (0x0205, "tec_drive_u16", "u16", "", "crystal.drive", None, (1000, 2000, 63535, 64535), None, "TEC drive (32768: none)"),
    (0x0206, "crystal_set_point_mk", "i32", "mK", "crystal.set_point_mk", _MK_TO_C, None, CRYSTAL_SET_POINT_LIMITS_MK, "crystal temperature set point"),
    (0x0207, "crystal_kp", "u16", "LSB/mK", "crystal.kp", None, None, (0, 4000), "thermal loop proportional gain"),
    (0x0208, "crystal_ki", "u16", "LSB/mK/step", "crystal.ki", None, None, (0, 1000), "thermal loop integral gain"),
    (0x0209, "thermal_enabled", "u8", "", "crystal.enabled", _ONOFF, None, None, "crystal temperature loop running"),
    (0x020A, "src_mode", "u8", "", "modes.mode", _SRC_MODES, None, None, "source operating mode"),
    (0x020B, "src_interlocks", "u8", "", "modes.interlocks", None, (0, 0, 0, 1), None,
     "open interlocks: 1 pump over-current, 2 diode over-temperature, 4 crystal sensor"),
    (0x020C, "src_interlock_trips", "u16", "", "modes.interlock_trips", None, None, None, "entries into SAFE"),
    (0x020D, "pump_set_ua", "u32", "uA", "pump.set_ua", None, None, None, "pump current set point after the ramp"),
    (0x020E, "pump_measured_ua", "i32", "uA", "pump.measured_ua", None, (-1000, -500, 85000, 90000), None,
     "pump current from the shunt"),
    (0x020F, "pump_power_uw", "i32", "uW", "pump.power_uw", None, None, None, "pump optical power, monitor photodiode"),
    (0x0210, "diode_temp_mk", "i32", "mK", "pump.diode_temp_mk", _MK_TO_C, (273150, 278150, 313150, 318150), None,
     "pump diode case temperature"),
    (0x0211, "pump_ramp_ua", "u32", "uA/step", "pump.ramp_ua", None, None, (100, 10000), "pump soft-start ramp per 100 ms"),
    (0x0212, "lock_band_mk", "u16", "mK", "modes.lock_band_mk", None, None, (1, 1000), "crystal lock band"),
    (0x0213, "crystal_ref_mk", "i32", "mK", "crystal.ref_mk", _MK_TO_C, None, None,
     "reference the loop follows, slewing to the set point"),
    (0x0214, "crystal_slew_mk", "u16", "mK/step", "crystal.slew_mk", None, None, (1, 1000),
     "largest reference move per 100 ms"),
    (0x022C, "crystal_kd", "u16", "LSB/(mK/step)", "crystal.kd", None, None, (0, 4000),
     "thermal loop derivative gain, on the filtered measurement"),
    (0x0215, "src_calibrating", "u8", "", "source.calibrating", _ONOFF, None, None,
     "phase-matching scan or retarder sweep in progress (pump on)"),
    (0x0216, "autotune_state", "u8", "", "tuner.state", _TUNE_STATES, None, None, "phase-matching tuner state"),
    (0x0217, "autotune_runs", "u16", "", "tuner.runs", None, None, None, "phase-matching scans started since boot"),
    (0x0218, "autotune_found_mk", "i32", "mK", "tuner.found_mk", _MK_TO_C, None, None,
     "fitted phase-matching temperature of the last successful scan"),
    (0x0219, "autotune_peak_counts", "u32", "", "tuner.peak_counts", None, None, None,
     "coincidences at the best scan point (per dwell)"),
    (0x021A, "autotune_points", "u16", "", "tuner.points", None, None, None, "points measured in the current or last scan"),
    (0x021B, "autotune_half_range_mk", "u16", "mK", "tuner.half_range_mk", None, None, (100, 5000),
     "scan half range around the set point"),
    (0x021C, "autotune_step_mk", "u16", "mK", "tuner.step_mk", None, None, (10, 1000), "scan step"),
    (0x021D, "autotune_on_ready", "u8", "", "source.autotune_on_ready", _ONOFF, None, (0, 1),
     "scan on entering READY and when brightness falls"),
    (0x021E, "autotune_drop_pm", "u16", "1/1000", "source.drop_fraction_pm", None, None, (10, 900),
     "brightness fall that starts a new scan"),
    (0x021F, "src_auto_emit", "u8", "", "source.auto_emit", _ONOFF, None, (0, 1),
     "go from READY or STANDBY to EMITTING by itself once calibrated and permitted"),
    (0x0220, "pair_rate_hz", "f32", "1/s", "quality.pair_rate_hz", None, None, None,
     "accidental-corrected on-board coincidence rate, all detector pairs"),
    (0x0221, "accidental_rate_hz", "f32", "1/s", "quality.accidental_rate_hz", None, None, None,
     "estimated accidental coincidence rate"),
    (0x0222, "heralding", "f32", "", "quality.heralding", None, None, None, "symmetrised heralding efficiency"),
    (0x0223, "visibility_hv", "f32", "", "quality.visibility_hv", None, None, None,
     "accidental-corrected visibility, H/V basis (-1: not measured)"),
    (0x0224, "visibility_da", "f32", "", "quality.visibility_da", None, None, None,
     "accidental-corrected visibility, D/A basis (-1: not measured)"),
    (0x0225, "chsh_s", "f32", "", "quality.chsh_s", None, None, None, "CHSH S implied by both visibilities"),
    (0x0226, "brightness_pairs_s_mw", "f32", "1/s/mW", "source.brightness", None, None, None,
     "corrected on-board pairs per second per mW of pump"),
    (0x0227, "lc_drive_u16", "u16", "", "retarder.output_u16", None, None, None, "liquid-crystal retarder drive"),
    (0x022A, "lc_retardance_mrad", "u16", "mrad", "retarder.theta_mrad", None, None, None,
     "retardance the loop tracks (from the cell's calibration)"),
    (0x022B, "lc_wave_jumps", "u16", "", "retarder.wave_jumps", None, None, None,
     "one-wave moves of the retarder to stay in its calibrated range"),
    (0x0228, "retarder_state", "u8", "", "retarder.state", _RETARDER_STATES, None, None, "retarder loop state"),
    (0x0229, "analysis_basis", "u8", "", "monitor.basis", _BASES, None, None, "basis the analysers measure in"),
    # pointing (0x0300..)
    (0x0301, "apt_cmd_accepted", "u16", "", "pointing.cmd_accepted", None, None, None, "commands accepted by pointing"),
    (0x0302, "apt_cmd_rejected", "u16", "", "pointing.cmd_rejected", None, None, None, "commands rejected by pointing"),
    (0x0303, "fsm0_x_nrad", "i32", "nrad", "beam0.u_x_nrad", None, (-1000000, -900000, 900000, 1000000), None, "beam 0 mirror command, x"),
    (0x0304, "fsm0_y_nrad", "i32", "nrad", "beam0.u_y_nrad", None, (-1000000, -900000, 900000, 1000000), None, "beam 0 mirror command, y"),
    (0x0305, "beam0_max_err_nrad", "u32", "nrad", "beam0.max_abs_err_nrad", None, None, None, "beam 0 largest error since last report"),
    (0x0306, "beam0_frames", "u16", "", "beam0.frames", None, None, None, "beam 0 sensor frames since last report"),
    (0x0307, "fine0_ki_q8", "u16", "1/256", "beam0.ki_q8", None, None, (0, 1024), "beam 0 fine loop gain (Q8)"),
    (0x0308, "fsm1_x_nrad", "i32", "nrad", "beam1.u_x_nrad", None, (-1000000, -900000, 900000, 1000000), None, "beam 1 mirror command, x"),
    (0x0309, "fsm1_y_nrad", "i32", "nrad", "beam1.u_y_nrad", None, (-1000000, -900000, 900000, 1000000), None, "beam 1 mirror command, y"),
    (0x030A, "beam1_max_err_nrad", "u32", "nrad", "beam1.max_abs_err_nrad", None, None, None, "beam 1 largest error since last report"),
    (0x030B, "beam1_frames", "u16", "", "beam1.frames", None, None, None, "beam 1 sensor frames since last report"),
    (0x030C, "fine1_ki_q8", "u16", "1/256", "beam1.ki_q8", None, None, (0, 1024), "beam 1 fine loop gain (Q8)"),
    (0x030D, "beam0_mean_err_nrad", "u32", "nrad", "beam0.mean_abs_err_nrad", None, None, None, "beam 0 mean |error| per axis over the last second"),
    (0x030E, "beam1_mean_err_nrad", "u32", "nrad", "beam1.mean_abs_err_nrad", None, None, None, "beam 1 mean |error| per axis over the last second"),
    (0x030F, "apt0_state", "u8", "", "apt0.state", _APT_STATES, None, None, "beam 0 pointing state"),
    (0x0310, "apt1_state", "u8", "", "apt1.state", _APT_STATES, None, None, "beam 1 pointing state"),
    (0x0311, "beam0_losses", "u16", "", "apt0.loss_count", None, None, None, "beam 0 losses of fine lock"),
    (0x0312, "beam1_losses", "u16", "", "apt1.loss_count", None, None, None, "beam 1 losses of fine lock"),
    (0x0313, "beam0_acq_ms", "u32", "ms", "apt0.acquisition_ms", None, None, None, "beam 0 open loop to fine track, last time"),
    (0x0314, "beam1_acq_ms", "u32", "ms", "apt1.acquisition_ms", None, None, None, "beam 1 open loop to fine track, last time"),
    (0x0315, "ephem0_valid", "u8", "", "ephem0.valid", _ONOFF, None, None, "beam 0 has a committed ephemeris"),
    (0x0316, "ephem1_valid", "u8", "", "ephem1.valid", _ONOFF, None, None, "beam 1 has a committed ephemeris"),
    (0x0317, "vib0_mode", "u8", "", "beam0.mode", _VIB_MODES, None, None, "beam 0 fine loop mode"),
    (0x0318, "vib1_mode", "u8", "", "beam1.mode", _VIB_MODES, None, None, "beam 1 fine loop mode"),
    (0x0319, "tone0_mhz", "u32", "mHz", "canc0.tone_mhz", None, None, None, "beam 0 untracked tone found by the notch (0: searching)"),
    (0x031A, "tone1_mhz", "u32", "mHz", "canc1.tone_mhz", None, None, None, "beam 1 untracked tone found by the notch (0: searching)"),
    (0x031B, "gimbal0_rate_a", "i32", "urad/s", "apt0.rate_a_urad_s", None, None, None, "beam 0 gimbal rate command, along track"),
    (0x031C, "gimbal0_rate_c", "i32", "urad/s", "apt0.rate_c_urad_s", None, None, None, "beam 0 gimbal rate command, across track"),
    (0x031D, "gimbal1_rate_a", "i32", "urad/s", "apt1.rate_a_urad_s", None, None, None, "beam 1 gimbal rate command, along track"),
    (0x031E, "gimbal1_rate_c", "i32", "urad/s", "apt1.rate_c_urad_s", None, None, None, "beam 1 gimbal rate command, across track"),
    (0x031F, "beacon_on", "u8", "", "pointing.beacon_on", _ONOFF, None, None, "downlink beacon laser on (eye-safety interlock)"),
    (0x0320, "emission_permitted", "u8", "", "pointing.emission_permitted", _ONOFF, None, None,
     "every active beam in fine track on a station above the mask: the source may emit"),
    (0x0321, "fine0_alpha_q12", "u16", "1/4096", "beam0.alpha_q12", None, None, (1, 4096), "beam 0 tracker gain alpha (Q12)"),
    (0x0322, "fine1_alpha_q12", "u16", "1/4096", "beam1.alpha_q12", None, None, (1, 4096), "beam 1 tracker gain alpha (Q12)"),
    (0x0323, "beam0_missed", "u16", "", "beam0.no_frame", None, None, None, "beam 0 steps without a fine frame in the last second"),
    (0x0324, "beam1_missed", "u16", "", "beam1.no_frame", None, None, None, "beam 1 steps without a fine frame in the last second"),
    (0x0325, "el_mask_cdeg", "u16", "0.01 deg", "apt0.el_mask_cdeg", None, None, (0, 9000),
     "station elevation below which nothing emits (beam 0; beam 1 follows at its start)"),
    (0x0326, "emit_beams", "u8", "", "pointing.emit_beams", None, None, (1, 2),
     "beams that must be in fine track on a station above the mask before the source may emit"),
    (0x0327, "sync_laser_on", "u8", "", "pointing.sync_on", _ONOFF, None, None,
     "synchronisation laser shining: commanded on and a beam tracking a station above the mask"),
    (0x0328, "sync_laser_armed", "u8", "", "pointing.sync_armed", _ONOFF, None, None,
     "synchronisation laser commanded on (SYNC_LASER); cancelled when every beam is idle"),
    # fdir (0x0400..)
    (0x0401, "fdir_cmd_accepted", "u16", "", "fdir.cmd_accepted", None, None, None, "commands accepted by FDIR"),
    (0x0402, "fdir_cmd_rejected", "u16", "", "fdir.cmd_rejected", None, None, None, "commands rejected by FDIR"),
    (0x0403, "fdir_enabled", "u8", "", "fdir_core.enabled", _ONOFF, None, None, "FDIR monitors running (FDIR_ENABLE)"),
    (0x0404, "fdir_trips", "u16", "", "fdir_core.trips", None, None, None, "monitor trips since boot"),
    (0x0405, "fdir_tripped_mask", "u16", "", "fdir_core.tripped_mask", None, (0, 0, 0, 1), None,
     "monitors tripped now: bit n is monitor n (FDIR_MONITORS)"),
    (0x0406, "fdir_last_monitor", "u8", "", "fdir_core.last_monitor", None, None, None, "the monitor that tripped last"),
    (0x0407, "fdir_restarts", "u8", "", "fdir_core.restarts", None, None, None, "source recoveries used (of fdir_max_restarts)"),
    (0x0408, "fdir_max_restarts", "u8", "", "fdir_core.max_restarts", None, None, (0, 10), "source recoveries allowed before giving up"),
    (0x0409, "time_corrections", "u16", "", "fdir_core.time_corrections", None, None, None, "on-board time corrected after a clock jump"),
    (0x040A, "clock_jump_ms", "i32", "ms", "fdir_core.last_jump_ms", None, None, None, "size of the last clock jump corrected"),
    # security (0x0500..)
    (0x0501, "sec_cmd_accepted", "u16", "", "security.cmd_accepted", None, None, None, "commands accepted by the security application"),
    (0x0502, "sec_cmd_rejected", "u16", "", "security.cmd_rejected", None, None, None, "commands rejected by the security application"),
    (0x0503, "sec_frames_accepted", "u16", "", "sdls.accepted", None, None, None, "TC frames whose MAC and sequence number passed"),
    (0x0504, "sec_bad_mac", "u16", "", "sdls.bad_mac", None, (0, 0, 0, 1), None, "TC frames rejected: MAC check failed (forged or wrong key)"),
    (0x0505, "sec_replayed", "u16", "", "sdls.replayed", None, (0, 0, 0, 1), None, "TC frames rejected: sequence number replayed or outside the window"),
    (0x0506, "sec_truncated", "u16", "", "sdls.truncated", None, (0, 0, 0, 1), None, "TC frames rejected: too short for security header and MAC"),
    (0x0507, "sec_bad_spi", "u16", "", "sdls.bad_spi", None, (0, 0, 0, 1), None, "TC frames rejected: unknown or disabled SPI"),
    (0x0508, "sec_spi_enabled", "u8", "", "keys.spi_enabled_mask", None, None, None, "enabled SPIs: bit 1 SPI 1, bit 2 SPI 2, bit 3 SPI 3"),
    (0x0509, "sec_key_loads", "u16", "", "keys.key_loads", None, None, None, "keys changed by SEC_KEY_LOAD since boot"),
    (0x050A, "sec_last_sn_1", "u32", "", "keys.last_sn_1", None, None, None, "last accepted anti-replay sequence number, SPI 1"),
    (0x050B, "sec_last_sn_2", "u32", "", "keys.last_sn_2", None, None, None, "last accepted anti-replay sequence number, SPI 2"),
    (0x050C, "sec_last_sn_3", "u32", "", "keys.last_sn_3", None, None, None, "last accepted anti-replay sequence number, SPI 3"),
    (0x050D, "sec_auth_required", "u8", "", "link.tc_auth", _ONOFF, None, None, "space-link TC frames must be authenticated (flight: ON)"),
    (0x050E, "lab_port_enabled", "u8", "", "link.lab_enabled", _ONOFF, None, None, "unauthenticated lab port open (flight: OFF)"),
)

# -- parameter table in non-volatile storage (payload/param_store.py, docs/param_tables.md) -----------
# Kept across resets and restored at boot, each through the range PARAM_SET checks (its ``settable``),
# or, for a parameter only a command sets, that command argument's range (TABLE_COMMAND_RANGES).  The
# order is the stored record's layout; a CRC-16 over the pids and types is the table version, so a
# database with another layout refuses an old table.  Never src_auto_emit, nor anything else that
# would make the payload emit by itself after a reset.
TABLE_PARAMETERS = (
    "crystal_set_point_mk", "crystal_kp", "crystal_ki", "crystal_kd", "crystal_slew_mk", "lock_band_mk",
    "pump_ramp_ua", "pump_power_target_uw", "autotune_half_range_mk", "autotune_step_mk", "autotune_on_ready",
    "autotune_drop_pm", "fine0_ki_q8", "fine1_ki_q8", "fine0_alpha_q12", "fine1_alpha_q12", "el_mask_cdeg",
    "emit_beams", "hazard_arm_timeout_s")
TABLE_COMMAND_RANGES = (("pump_power_target_uw", "SRC_PUMP_POWER", 0),)  # (parameter, command, argument index)

# -- housekeeping packets (TM[3,25]) -------------------------------------------------------
HOUSEKEEPING = (
    (1, APID_MANAGER, "HK_MANAGER", 1, (
        "uptime_s", "reset_cause", "mgr_cmd_accepted", "mgr_cmd_rejected", "tc_frames_accepted",
        "tc_frames_rejected", "tc_packets_rejected", "tm_packets_sent", "tm_packets_dropped", "fine_runs",
        "thermal_runs", "fine_overruns", "fine_slips", "fine_max_exec_us", "coarse_overruns", "thermal_overruns",
        "heap_free_b", "schedule_enabled", "schedule_entries", "events_generated", "time_valid",
        "tbl_state", "tbl_seq", "tbl_saves", "tbl_scrub_repairs", "tbl_refused", "boot_count", "watchdog_resets",
        "haz_armed", "haz_arms", "haz_executed", "haz_refused", "haz_expired", "tc_octets_skipped")),
    (2, APID_SOURCE, "HK_SOURCE", 1, (
        "src_cmd_accepted", "src_cmd_rejected", "crystal_temp_mk", "crystal_error_mk", "tec_drive_u16",
        "crystal_set_point_mk", "crystal_ref_mk", "thermal_enabled", "src_mode", "src_interlocks", "src_interlock_trips",
        "pump_set_ua", "pump_measured_ua", "pump_power_uw", "diode_temp_mk", "src_calibrating", "autotune_state",
        "autotune_runs", "autotune_found_mk", "autotune_peak_counts", "autotune_points", "pair_rate_hz",
        "accidental_rate_hz", "heralding", "visibility_hv", "visibility_da", "chsh_s", "brightness_pairs_s_mw",
        "lc_drive_u16", "lc_retardance_mrad", "lc_wave_jumps", "retarder_state", "analysis_basis")),
    (3, APID_POINTING, "HK_POINTING", 1, (
        "apt_cmd_accepted", "apt_cmd_rejected", "fsm0_x_nrad", "fsm0_y_nrad", "beam0_mean_err_nrad",
        "beam0_max_err_nrad", "beam0_frames", "fsm1_x_nrad", "fsm1_y_nrad", "beam1_mean_err_nrad",
        "beam1_max_err_nrad", "beam1_frames", "apt0_state", "apt1_state", "beam0_losses", "beam1_losses",
        "beam0_acq_ms", "beam1_acq_ms", "ephem0_valid", "ephem1_valid", "vib0_mode", "vib1_mode", "tone0_mhz",
        "tone1_mhz", "gimbal0_rate_a", "gimbal0_rate_c", "gimbal1_rate_a", "gimbal1_rate_c", "beacon_on",
        "emission_permitted", "beam0_missed", "beam1_missed", "sync_laser_on", "sync_laser_armed")),
    (4, APID_FDIR, "HK_FDIR", 1, ("fdir_cmd_accepted", "fdir_cmd_rejected", "fdir_enabled", "fdir_trips",
                                  "fdir_tripped_mask", "fdir_last_monitor", "fdir_restarts", "fdir_max_restarts",
                                  "time_corrections", "clock_jump_ms")),
    (6, APID_MANAGER, "HK_STORE", 10, (
        "store_records", "store_used_b", "store_capacity_b", "store_overwritten", "store_enabled", "store_playback",
        "store_unplayed", "store_played")),
    (5, APID_SECURITY, "HK_SECURITY", 10, (
        "sec_cmd_accepted", "sec_cmd_rejected", "sec_frames_accepted", "sec_bad_mac", "sec_replayed",
        "sec_truncated", "sec_bad_spi", "sec_spi_enabled", "sec_key_loads", "sec_last_sn_1", "sec_last_sn_2",
        "sec_last_sn_3", "sec_auth_required", "lab_port_enabled")),
)

# -- commands -----------------------------------------------------------------------
_SID = ("sid", "u16", 1, 0xFFFF, "")
_BEAM = ("beam", "u8", 0, 1, "")
COMMANDS = (
    # every application: no-op and reset counters (TC[8,1] function 0 and 1), are-you-alive (TC[17,1])
    ("MGR_NOOP", APID_MANAGER, 8, 1, 0, (), False, "no operation: increments the command counter"),
    ("MGR_RESET_COUNTERS", APID_MANAGER, 8, 1, 1, (), False, "reset the manager's counters"),
    ("MGR_PING", APID_MANAGER, 17, 1, None, (), False, "are-you-alive: answered by TM[17,2]"),
    ("TBL_SAVE", APID_MANAGER, 8, 1, 4, (), False,
     "write the parameter table (persisted parameters, operating intent) to non-volatile storage now"),
    ("TBL_LOAD", APID_MANAGER, 8, 1, 5, (), False,
     "re-apply the stored parameter table through the settable range checks (refused during a phase-matching scan)"),
    ("HAZ_ARM", APID_MANAGER, 8, 1, 2, (("apid", "u16", 0, 0x7FF, ""), ("service", "u8", 0, 255, ""),
                                        ("subtype", "u8", 0, 255, ""), ("function", "u8", 0, 255, ""),
                                        ("crc", "u16", 0, 0xFFFF, "")), False,
     "arm exactly one hazardous command for hazard_arm_timeout_s: its APID, service, subtype, function ID "
     "(TC[8,1]; 0 otherwise) and the CRC-16 of its application data; replaces an earlier arm"),
    ("HAZ_DISARM", APID_MANAGER, 8, 1, 3, (), False, "drop the armed command, if any"),
    ("SRC_NOOP", APID_SOURCE, 8, 1, 0, (), False, "no operation"),
    ("SRC_RESET_COUNTERS", APID_SOURCE, 8, 1, 1, (), False, "reset the source's counters"),
    ("SRC_PING", APID_SOURCE, 17, 1, None, (), False, "are-you-alive"),
    ("SRC_MODE", APID_SOURCE, 8, 1, 3, (("mode", "u8", 0, 5, ""),), (("mode", 4, 4),),
     "ask for a source mode: 0 OFF, 1 WARMUP, 4 EMITTING (pump on), 5 STANDBY; refused with a reason when it makes no sense"),
    ("SRC_PUMP_CURRENT", APID_SOURCE, 8, 1, 4, (("current_ua", "u32", 0, 90000, "uA"),),
     (("current_ua", PUMP_HIGH_CURRENT_UA + 1, 90000),),
     "pump current target (reached by the soft-start ramp while EMITTING)"),
    ("SRC_PUMP_POWER", APID_SOURCE, 8, 1, 5, (("power_uw", "u32", 0, 100000, "uW"),),
     (("power_uw", PUMP_HIGH_POWER_UW + 1, 100000),),
     "hold this pump optical power with the monitor-photodiode loop (0: stop the loop)"),
    ("SRC_AUTOTUNE", APID_SOURCE, 8, 1, 6, (("half_range_mk", "u16", 100, 5000, "mK"), ("step_mk", "u16", 10, 1000, "mK")),
     False, "scan the crystal set point +/- half_range_mk around its present value, fit the pair-rate peak, settle there"),
    ("SRC_RETARDER_SWEEP", APID_SOURCE, 8, 1, 7, (), False,
     "sweep the liquid-crystal retarder for the best D/A correlation, then track it"),
    ("APT_NOOP", APID_POINTING, 8, 1, 0, (), False, "no operation"),
    ("APT_RESET_COUNTERS", APID_POINTING, 8, 1, 1, (), False, "reset the pointing counters"),
    ("APT_PING", APID_POINTING, 17, 1, None, (), False, "are-you-alive"),
    ("APT_FINE_ENABLE", APID_POINTING, 8, 1, 2, (("beam", "u8", 0, 1, ""), ("on", "u8", 0, 1, "")), False,
     "close or open a beam's fine pointing loop"),
    ("APT_EPHEM_BEGIN", APID_POINTING, 8, 1, 3, (_BEAM, ("days", "u16", 0, 0xFFFF, "d"),
                                                  ("ms_of_day", "u32", 0, 86399999, "ms"), ("step_ms", "u16", 100, 10000, "ms"),
                                                  ("n", "u16", 2, 256, "")), False,
     "start loading a beam's pointing ephemeris: epoch of the first point (CDS), spacing, number of points"),
    ("APT_EPHEM_POINTS", APID_POINTING, 8, 1, 4, (_BEAM, ("index", "u16", 0, 255, ""),
        ("a0_urad", "i32", -1570796, 1570796, "urad"), ("c0_urad", "i32", -1570796, 1570796, "urad"),
    ("paa_x0", "i16", -10000, 10000, "0.1 urad"), ("paa_y0", "i16", -10000, 10000, "0.1 urad"),
    ("el0_cdeg", "i16", -9000, 9000, "0.01 deg"),
        ("a1_urad", "i32", -1570796, 1570796, "urad"), ("c1_urad", "i32", -1570796, 1570796, "urad"),
    ("paa_x1", "i16", -10000, 10000, "0.1 urad"), ("paa_y1", "i16", -10000, 10000, "0.1 urad"),
    ("el1_cdeg", "i16", -9000, 9000, "0.01 deg"),
        ("a2_urad", "i32", -1570796, 1570796, "urad"), ("c2_urad", "i32", -1570796, 1570796, "urad"),
    ("paa_x2", "i16", -10000, 10000, "0.1 urad"), ("paa_y2", "i16", -10000, 10000, "0.1 urad"),
    ("el2_cdeg", "i16", -9000, 9000, "0.01 deg"),
        ("a3_urad", "i32", -1570796, 1570796, "urad"), ("c3_urad", "i32", -1570796, 1570796, "urad"),
    ("paa_x3", "i16", -10000, 10000, "0.1 urad"), ("paa_y3", "i16", -10000, 10000, "0.1 urad"),
    ("el3_cdeg", "i16", -9000, 9000, "0.01 deg")), False,
     "four ephemeris points from index on: gimbal angles (X-Y mount), point-ahead, station elevation"),
    ("APT_EPHEM_COMMIT", APID_POINTING, 8, 1, 5, (_BEAM, ("crc", "u16", 0, 0xFFFF, "")), False,
     "check the loaded ephemeris (all points, CRC-16, travel, rate, elevation) and use it"),
    ("APT_START", APID_POINTING, 8, 1, 6, (_BEAM,),
     ((HAZ_STATE, "near_travel_limit", "the beam's committed ephemeris comes within 5 deg of the gimbal's "
       "+/- 80 deg travel"),),
     "start a beam's acquisition and tracking from its ephemeris (lasers may follow: hazardous)"),
    ("APT_STOP", APID_POINTING, 8, 1, 7, (_BEAM,), False, "stop a beam: gimbal still, fine loop open, lasers off"),
    ("APT_VIB_MODE", APID_POINTING, 8, 1, 8, (_BEAM, ("mode", "u8", 0, 2, "")), False,
     "fine loop mode: 0 open (mirror held), 1 feedback only, 2 feedback plus vibration feed-forward"),
    ("SYNC_LASER", APID_POINTING, 8, 1, 9, (("on", "u8", 0, 1, ""),), (("on", 1, 1),),
     "synchronisation laser on or off; it shines only while a beam tracks a station above the mask; "
     "cancelled when every beam is idle, so each pass needs its own (hazardous: a laser)"),
    ("FDIR_NOOP", APID_FDIR, 8, 1, 0, (), False, "no operation"),
    ("FDIR_RESET_COUNTERS", APID_FDIR, 8, 1, 1, (), False, "reset the FDIR counters"),
    ("FDIR_PING", APID_FDIR, 17, 1, None, (), False, "are-you-alive"),
    ("FDIR_ENABLE", APID_FDIR, 8, 1, 2, (("monitor", "u8", 1, 255, ""), ("on", "u8", 0, 1, "")), False,
     "switch one FDIR monitor (FDIR_MONITORS ID) or all of them (255) on or off; 255 also clears the restart budget"),
    ("SEC_NOOP", APID_SECURITY, 8, 1, 0, (), False, "no operation"),
    ("SEC_RESET_COUNTERS", APID_SECURITY, 8, 1, 1, (), False,
     "reset the security counters (rejections; never the anti-replay sequence numbers)"),
    ("SEC_PING", APID_SECURITY, 17, 1, None, (), False, "are-you-alive"),
    ("SEC_KEY_LOAD", APID_SECURITY, 8, 1, 2, (("spi", "u16", 1, 3, ""), ("nonce", "u32", 1, 0xFFFFFFFF, ""))
     + tuple(("wk%d" % i, "u32", 0, 0xFFFFFFFF, "") for i in range(8)), False,
     "new 32-octet key for an SPI, wrapped under the KEK: wk0..wk7 = key xor HMAC-SHA256(KEK, 'QSAT-KW' spi nonce 0) "
     "(docs/security.md); nonce larger than the last key load's; 'qsat tc SEC_KEY_LOAD spi=N key=HEX' has the station build it"),
    ("SEC_SPI_ENABLE", APID_SECURITY, 8, 1, 3, (("spi", "u16", 1, 3, ""), ("on", "u8", 0, 1, "")), False,
     "accept (1) or reject (0) frames authenticated with an SPI; the last enabled SPI cannot be disabled"),
    # service 3 (manager owns housekeeping generation)
    ("HK_ENABLE", APID_MANAGER, 3, 5, None, (("n", "u8", 1, 1, ""), _SID), False, "enable periodic generation of a housekeeping packet"),
    ("HK_DISABLE", APID_MANAGER, 3, 6, None, (("n", "u8", 1, 1, ""), _SID), False, "disable periodic generation of a housekeeping packet"),
    ("HK_ONE_SHOT", APID_MANAGER, 3, 27, None, (("n", "u8", 1, 1, ""), _SID), False, "generate one housekeeping packet now"),
    ("HK_SET_INTERVAL", APID_MANAGER, 3, 31, None, (("n", "u8", 1, 1, ""), _SID, ("interval_s", "u16", 1, 3600, "s")), False,
     "change a housekeeping packet's collection interval"),
    # service 5
    ("EVENT_ENABLE", APID_MANAGER, 5, 5, None, (("n", "u8", 1, 1, ""), ("event_id", "u16", 0, 0xFFFF, "")), False, "enable an event report"),
    ("EVENT_DISABLE", APID_MANAGER, 5, 6, None, (("n", "u8", 1, 1, ""), ("event_id", "u16", 0, 0xFFFF, "")), False, "disable an event report"),
    # service 9 (mission subtype 128: set on-board time; 9,1: time report rate)
    ("TIME_SET", APID_MANAGER, 9, 128, None, (("days", "u16", 0, 0xFFFF, "d"), ("ms_of_day", "u32", 0, 86399999, "ms")), False,
     "set on-board time (CDS: days since 1958-01-01 and ms of day)"),
    ("TIME_REPORT_RATE", APID_MANAGER, 9, 1, None, (("exponent", "u8", 0, 8, ""),), False, "time report every 2**exponent housekeeping seconds (0: off)"),
    # service 11 (TC[11,4] carries packets: layout in docs/icd.md)
    ("SCHED_ENABLE", APID_MANAGER, 11, 1, None, (), False, "enable the time-based schedule"),
    ("SCHED_DISABLE", APID_MANAGER, 11, 2, None, (), False, "disable the time-based schedule"),
    ("SCHED_RESET", APID_MANAGER, 11, 3, None, (), False, "delete every scheduled command"),
    ("SCHED_INSERT", APID_MANAGER, 11, 4, None, None,
     ((HAZ_STATE, "embeds_hazardous", "an embedded command is hazardous"),),
     "insert time-tagged commands (hazardous activities run at release on the authority of the armed insert)"),
    ("SCHED_DELETE", APID_MANAGER, 11, 5, None, (("n", "u8", 1, 1, ""), ("apid", "u16", 0, 0x7FF, ""), ("seq_count", "u16", 0, 0x3FFF, "")), False,
     "delete the scheduled command with this request ID"),
    ("SCHED_LIST", APID_MANAGER, 11, 16, None, (), False, "report every scheduled command (TM[11,10])"),
    # service 20
    ("PARAM_GET", APID_MANAGER, 20, 1, None, (("n", "u8", 1, 1, ""), ("pid", "u16", 0, 0xFFFF, "")), False, "report a parameter value (TM[20,2])"),
    ("PARAM_SET", APID_MANAGER, 20, 3, None, (("n", "u8", 1, 1, ""), ("pid", "u16", 0, 0xFFFF, ""), ("value", "i32", -0x80000000, 0x7FFFFFFF, "")),
     (("pid", 0x021F, 0x021F), ("value", 1, 1)),  # src_auto_emit = 1: the source may emit by itself
     "set a parameter within its declared range"),
    # service 15, on-board storage and retrieval: one packet store (payload/packet_store.py, docs/packet_store.md)
    ("STORE_ENABLE", APID_MANAGER, 15, 1, None, (), False, "start recording housekeeping and events in the packet store"),
    ("STORE_DISABLE", APID_MANAGER, 15, 2, None, (), False, "stop recording in the packet store (contents kept)"),
    ("STORE_PLAYBACK_RANGE", APID_MANAGER, 15, 9, None, (
        ("days0", "u16", 0, 0xFFFF, "d"), ("ms0", "u32", 0, 86399999, "ms"),
        ("days1", "u16", 0, 0xFFFF, "d"), ("ms1", "u32", 0, 86399999, "ms")), False,
     "play back on VC 1 every stored packet whose time lies in [t0, t1] (CDS days, ms of day)"),
    ("STORE_DELETE", APID_MANAGER, 15, 11, None, (("days", "u16", 0, 0xFFFF, "d"), ("ms_of_day", "u32", 0, 86399999, "ms")),
     False, "delete the stored packets from the oldest up to the first one later than this time"),
    ("STORE_REPORT", APID_MANAGER, 15, 12, None, (), False, "report the packet store content summary (TM[15,13])"),
    ("STORE_PLAYBACK", APID_MANAGER, 15, 15, None, (), False,
     "play back on VC 1 every stored packet not yet played back (open retrieval), oldest first"),
    ("STORE_ABORT", APID_MANAGER, 15, 17, None, (), False,
     "end the playback in progress (open retrieval keeps its place: the next STORE_PLAYBACK goes on from there)"),
)

# -- events (TM[5,1..4]) ---------------------------------------------------------------
EVENTS = (
    (0x0100, "EV_BOOT", 1, APID_MANAGER, (("reset_cause", "u8"),), "payload software started"),
    (0x0101, "EV_TC_REJECTED", 2, APID_MANAGER, (("apid", "u16"), ("code", "u16")), "telecommand packet rejected"),
    (0x0102, "EV_FRAME_REJECTED", 2, APID_MANAGER, (("reason", "u8"),),
     "TC frame rejected: reason 1-10 frame checks (bus.tc_frame REJECT_*), 16-22 FARM-1 (bus.farm DISCARD_*); at most one a second"),
    (0x0103, "EV_TIME_SET", 1, APID_MANAGER, (("days", "u16"), ("ms_of_day", "u32")), "on-board time set"),
    (0x0104, "EV_PARAM_SET", 1, APID_MANAGER, (("pid", "u16"), ("value", "i32")), "parameter changed"),
    (0x0105, "EV_SCHED_EXECUTED", 1, APID_MANAGER, (("apid", "u16"), ("seq_count", "u16")), "time-tagged command released"),
    (0x0106, "EV_HK_CHANGED", 1, APID_MANAGER, (("sid", "u16"), ("interval_s", "u16")), "housekeeping generation changed"),
    (0x0107, "EV_TM_OVERFLOW", 3, APID_MANAGER, (("vcid", "u8"),), "TM queue full: packets dropped"),
    (0x0110, "EV_STORE_PLAYBACK_START", 1, APID_MANAGER, (("mode", "u8"), ("records", "u32")),
     "packet store playback started: mode 1 open retrieval, 2 time range; records it will consider"),
    (0x0111, "EV_STORE_PLAYBACK_END", 1, APID_MANAGER, (("mode", "u8"), ("played", "u32"), ("reason", "u8")),
     "packet store playback ended: packets played; reason 0 all sent, 1 aborted"),
    (0x0112, "EV_STORE_OVERWRITE", 2, APID_MANAGER, (("overwritten", "u32"), ("unplayed_lost", "u32")),
     "packet store full: oldest records overwritten (totals since boot; at most one event a minute)"),
    (0x0113, "EV_STORE_STATE", 1, APID_MANAGER, (("enabled", "u8"),), "packet store recording enabled or disabled"),
    (0x0114, "EV_STORE_DELETED", 1, APID_MANAGER, (("records", "u32"),), "stored packets deleted by STORE_DELETE"),
    (0x0118, "EV_TBL_LOADED", 1, APID_MANAGER, (("version", "u16"), ("applied", "u8"), ("refused", "u8"), ("seq", "u16")),
     "parameter table loaded from non-volatile storage: values applied, values refused (out of range), copy sequence"),
    (0x0119, "EV_TBL_DEFAULTS", 2, APID_MANAGER, (("reason", "u8"), ("stored_version", "u16"), ("slot_a", "u8"),
                                                  ("slot_b", "u8")),
     "parameter table not loaded, defaults in use: reason 1 none stored, 2 layout changed (stored_version differs), "
     "3 both copies bad; slot status 0 ok 1 empty 2 torn 3 not a record 4 wrong tag 5 bad length 6 bad crc"),
    (0x011A, "EV_TBL_SAVED", 1, APID_MANAGER, (("seq", "u16"), ("reason", "u8")),
     "parameter table saved: reason 0 TBL_SAVE, 1 PARAM_SET, 2 source setting (auto-tune, pump), 3 operating intent, 4 boot"),
    (0x011B, "EV_TBL_SCRUB", 3, APID_MANAGER, (("pid", "u16"), ("bad_value", "i32"), ("restored_value", "i32")),
     "live parameter differed from its RAM shadow (bit flip): restored"),
    (0x011C, "EV_TBL_SHADOW", 3, APID_MANAGER, (("reloaded", "u8"),),
     "the RAM shadow of the parameter table failed its CRC: reloaded from non-volatile storage (1) or rebuilt from the live values (0)"),
    (0x011D, "EV_TBL_RESUME", 2, APID_MANAGER, (("reset_cause", "u8"), ("set_point_mk", "i32")),
     "source was operating when the table was saved: warm-up resumed at the stored set point, no scan on reaching READY"),
    (0x011E, "EV_TBL_REFUSED", 2, APID_MANAGER, (("pid", "u16"), ("value", "i32")),
     "stored parameter value outside its settable range: refused, the default kept"),
    (0x011F, "EV_TBL_SAVE_FAILED", 3, APID_MANAGER, (("reason", "u8"),),
     "parameter table save failed: the non-volatile store raised an error (reason as for EV_TBL_SAVED)"),
    (0x0108, "EV_HAZ_ARMED", 2, APID_MANAGER, (("apid", "u16"), ("service", "u8"), ("subtype", "u8"),
                                                ("function", "u8"), ("crc", "u16"), ("timeout_s", "u16")),
     "hazardous command armed"),
    (0x0109, "EV_HAZ_EXECUTED", 2, APID_MANAGER, (("apid", "u16"), ("service", "u8"), ("subtype", "u8"),
                                                   ("function", "u8"), ("crc", "u16"), ("scheduled", "u8"),
                                                   ("code", "u16")),
     "armed command executed: scheduled 1 released from an armed TC[11,4]; code its outcome (0 completed, "
     "else the failure code: interlocks still apply)"),
    (0x010A, "EV_HAZ_REFUSED", 3, APID_MANAGER, (("apid", "u16"), ("service", "u8"), ("subtype", "u8"),
                                                  ("function", "u8"), ("crc", "u16"), ("reason", "u8")),
     "hazardous command refused: reason 1 not armed, 2 another command is armed, 3 the arm expired"),
    (0x010B, "EV_HAZ_EXPIRED", 1, APID_MANAGER, (("apid", "u16"), ("service", "u8"), ("subtype", "u8"),
                                                  ("function", "u8"), ("crc", "u16"), ("reason", "u8")),
     "arm ended unused: reason 0 timeout, 1 HAZ_DISARM, 2 replaced by a new HAZ_ARM"),
    (0x01F0, "EV_MGR_NOOP", 1, APID_MANAGER, (), "manager no-op"),
    (0x01F1, "EV_MGR_RESET", 1, APID_MANAGER, (), "manager counters reset"),
    (0x01F2, "EV_MGR_LENGTH", 2, APID_MANAGER, (("expected", "u16"), ("actual", "u16")), "manager command of wrong length"),
    (0x02F0, "EV_SRC_NOOP", 1, APID_SOURCE, (), "source no-op"),
    (0x02F1, "EV_SRC_RESET", 1, APID_SOURCE, (), "source counters reset"),
    (0x02F2, "EV_SRC_LENGTH", 2, APID_SOURCE, (("expected", "u16"), ("actual", "u16")), "source command of wrong length"),
    (0x0202, "EV_SRC_MODE", 1, APID_SOURCE, (("from_mode", "u8"), ("to_mode", "u8")), "source mode changed"),
    (0x0203, "EV_SRC_INTERLOCK", 4, APID_SOURCE, (("interlocks", "u8"), ("pump_measured_ua", "i32"), ("diode_temp_mk", "i32")),
     "interlock open: pump cut, source SAFE"),
    (0x0204, "EV_SRC_AUTOTUNE_START", 1, APID_SOURCE, (("reason", "u8"), ("centre_mk", "i32"), ("half_range_mk", "u16"),
                                                        ("step_mk", "u16")),
     "phase-matching scan started: reason 0 entering READY, 1 brightness fell, 2 telecommand"),
    (0x0205, "EV_SRC_AUTOTUNE", 1, APID_SOURCE, (("state", "u8"), ("found_mk", "i32"), ("offset_mk", "i32"),
                                                  ("peak_counts", "u32")),
     "phase-matching scan ended: state 3 DONE (set point moved to found_mk), 4 FAILED (back to the centre)"),
    (0x0206, "EV_SRC_RETARDER_LOCK", 1, APID_SOURCE, (("retardance_mrad", "u16"), ("correlation_pm", "i16")),
     "retarder sweep done: tracking from this retardance, best D/A correlation in per mille"),
    (0x03F0, "EV_APT_NOOP", 1, APID_POINTING, (), "pointing no-op"),
    (0x03F1, "EV_APT_RESET", 1, APID_POINTING, (), "pointing counters reset"),
    (0x03F2, "EV_APT_LENGTH", 2, APID_POINTING, (("expected", "u16"), ("actual", "u16")), "pointing command of wrong length"),
    (0x0301, "EV_FINE_MODE", 1, APID_POINTING, (("beam", "u8"), ("on", "u8")), "fine loop closed or opened"),
    (0x0302, "EV_APT_STATE", 1, APID_POINTING, (("beam", "u8"), ("from_state", "u8"), ("to_state", "u8")),
     "pointing state changed"),
    (0x0303, "EV_APT_LOCK_LOST", 3, APID_POINTING, (("beam", "u8"), ("losses", "u16")),
     "fine lock lost: no fine frames for the lost time"),
    (0x0304, "EV_APT_EPHEM", 1, APID_POINTING, (("beam", "u8"), ("n", "u16"), ("span_s", "u16")),
     "ephemeris committed"),
    (0x0305, "EV_APT_VIB_MODE", 1, APID_POINTING, (("beam", "u8"), ("mode", "u8")), "fine loop mode changed"),
    (0x0306, "EV_APT_TONE", 1, APID_POINTING, (("beam", "u8"), ("tone_mhz", "u32")),
     "adaptive notch locked on an untracked tone"),
    (0x0307, "EV_APT_SYNC_LASER", 1, APID_POINTING, (("on", "u8"), ("armed", "u8"), ("reason", "u8")),
     "sync laser changed: reason 0 telecommand, 1 tracking gained or lost, 2 every beam idle (command cancelled)"),
    (0x04F0, "EV_FDIR_NOOP", 1, APID_FDIR, (), "FDIR no-op"),
    (0x04F1, "EV_FDIR_RESET", 1, APID_FDIR, (), "FDIR counters reset"),
    (0x04F2, "EV_FDIR_LENGTH", 2, APID_FDIR, (("expected", "u16"), ("actual", "u16")), "FDIR command of wrong length"),
    (0x0401, "EV_FDIR_TRIP", 3, APID_FDIR, (("monitor", "u8"), ("value", "i32"), ("action", "u8")),
     "a monitor tripped (FDIR_MONITORS) with this value; action 0 report, 1 source off, 2 beam leaves fine "
     "track, 3 pump derated (value: new power target uW), 4 on-board time corrected (value: jump ms)"),
    (0x0402, "EV_FDIR_CLEAR", 1, APID_FDIR, (("monitor", "u8"), ("trips", "u16")), "a monitor is back in limits"),
    (0x0403, "EV_FDIR_RECOVERY", 2, APID_FDIR, (("monitor", "u8"), ("action", "u8"), ("attempt", "u8")),
     "recovery after a monitor cleared: action 5 source warm-up restarted"),
    (0x0404, "EV_FDIR_GAVE_UP", 4, APID_FDIR, (("monitor", "u8"), ("attempts", "u8")),
     "restart budget spent: the source stays OFF until the ground acts"),
    (0x05F0, "EV_SEC_NOOP", 1, APID_SECURITY, (), "security no-op"),
    (0x05F1, "EV_SEC_RESET", 1, APID_SECURITY, (), "security counters reset"),
    (0x05F2, "EV_SEC_LENGTH", 2, APID_SECURITY, (("expected", "u16"), ("actual", "u16")), "security command of wrong length"),
    (0x0501, "EV_SEC_REJECTED", 3, APID_SECURITY, (("reason", "u8"), ("spi", "u16"), ("sn", "u32")),
     "TC frame rejected by the authentication check before its packets ran: reason 32 truncated, 33 unknown or "
     "disabled SPI, 34 MAC check failed, 35 sequence number replayed (bus.sdls SEC_*); at most one a second"),
    (0x0502, "EV_SEC_KEY_LOADED", 2, APID_SECURITY, (("spi", "u16"), ("nonce", "u32")), "new key in force for an SPI"),
    (0x0503, "EV_SEC_SPI_STATE", 2, APID_SECURITY, (("spi", "u16"), ("on", "u8")), "SPI enabled or disabled"),
    (0x0504, "EV_SEC_STORE", 3, APID_SECURITY, (("record", "u8"), ("status", "u8")),
     "at boot, a key-store record did not come back: record 0 keys (laboratory keys in force), 1 anti-replay "
     "counters (back at zero: re-key); status 1 never written, 2 both copies unreadable"),
)


# -- FDIR monitors (payload/fdir.py, docs/fdir.md): (id, name, what trips it) ----------------------
FDIR_MONITORS = (
    (1, "SRC_INTERLOCK", "a source interlock opened (pump over-current, diode over-temperature, crystal sensor)"),
    (2, "THERMAL_CTRL", "the crystal TEC at full drive and the error above 200 mK, not shrinking"),
    (3, "PUMP_HEADROOM", "the pump power loop pinned at the over-current limit"),
    (4, "MIRROR_SAT_0", "beam 0's fine loop command within 10 % of the mirror's travel limit"),
    (5, "MIRROR_SAT_1", "beam 1's fine loop command within 10 % of the mirror's travel limit"),
    (6, "MIRROR_STUCK_0", "beam 0's mirror does not follow its command"),
    (7, "MIRROR_STUCK_1", "beam 1's mirror does not follow its command"),
    (8, "BEACON_0", "beam 0 lost its beacon"),
    (9, "BEACON_1", "beam 1 lost its beacon"),
    (10, "WHEEL", "a reaction wheel's speed moved by more than 2 % in a second"),
    (11, "CLOCK", "the clock jumped further than the watchdog would allow a stall"),
    (12, "LINK_SILENT", "no telecommand for 30 s while a beam is active"),
)


# -- look-ups (slow path: boot and ground) --------------------------------------------
def parameter(name):
    for p in PARAMETERS:
        if p[1] == name:
            return p
    raise KeyError("no parameter %s" % name)


def parameter_by_id(pid):
    for p in PARAMETERS:
        if p[0] == pid:
            return p
    return None


def command(name):
    for c in COMMANDS:
        if c[0] == name:
            return c
    raise KeyError("no command %s" % name)


def event(name):
    for e in EVENTS:
        if e[1] == name:
            return e
    raise KeyError("no event %s" % name)


def args_format(args):
    """struct format (big-endian) of a command's or event's fixed arguments."""
    f = ">"
    for a in args:
        f += TYPE_FORMATS[a[1]]
    return f


def hk_format(sid_entry):
    f = ">"
    for name in sid_entry[4]:
        f += TYPE_FORMATS[parameter(name)[2]]
    return f
