"""hal.board on the fake machine module (both interpreters).

The fake (tests/mp/fakes) puts the board's chips on a bench: an ADS1220 that
answers RREG/RDATA like the part, a DAC8563 that latches 24-bit frames, AS5047P
encoders, beacon sensor electronics, and the coincidence unit whose eight
counters are latched together and read in one burst.
"""

import sys
from array import array

from tests.flight.support import IS_MICROPYTHON, fakes_path, garbage_bytes, raises

if fakes_path() not in sys.path:
    sys.path.insert(0, fakes_path())

import machine  # noqa: E402  (the fake, from tests/mp/fakes)

import hal.board as board  # noqa: E402
from hal import interface as hi  # noqa: E402
from hal.ads1220 import ADS1220  # noqa: E402
from hal.coincidence_unit import CoincidenceUnit  # noqa: E402
from hal.fake import VirtualClock  # noqa: E402

bench = machine.bench
PM = board.PIN_MAP

_nv_dir = []  # CPython: one temporary directory for this module's nvstore files
_nv_count = [0]


def _nv_path():
    """A fresh nvstore file name (the in-memory filesystem on MicroPython)."""
    _nv_count[0] += 1
    if IS_MICROPYTHON:
        return "/nvstore_test_%d.bin" % _nv_count[0]
    import os  # noqa: PLC0415 - CPython branch
    import tempfile  # noqa: PLC0415

    if not _nv_dir:
        _nv_dir.append(tempfile.mkdtemp(prefix="qsat-board-"))
    return os.path.join(_nv_dir[0], "nvstore_%d.bin" % _nv_count[0])


def _bench(reset_cause=machine.PWRON_RESET):
    """A fresh bench with a model for every chip in the pin map; {name: model}."""
    bench.reset(reset_cause)
    board.NVSTORE_PATH = _nv_path()
    return bench.populate(PM)


def _board(reset_cause=machine.PWRON_RESET):
    chips = _bench(reset_cause)
    return board.BoardHal(), chips


class _MicroPythonShim:
    """Stands in for the ``micropython`` module where the interpreter's lacks
    what payload.boot calls (CPython has none; the WebAssembly port has no
    alloc_emergency_exception_buf)."""

    def __init__(self):
        self.emergency_buf = 0

    def alloc_emergency_exception_buf(self, size):
        self.emergency_buf = size

    def const(self, value):
        return value


def _boot(cycles):
    """payload.boot.main(cycles=...) with a micropython module that has what it needs."""
    import payload.boot  # noqa: PLC0415

    try:
        import micropython  # noqa: PLC0415

        complete = hasattr(micropython, "alloc_emergency_exception_buf")
    except ImportError:
        complete = False
    if complete:
        return payload.boot.main(cycles=cycles), None
    shim = _MicroPythonShim()
    had = sys.modules.get("micropython")
    sys.modules["micropython"] = shim
    try:
        return payload.boot.main(cycles=cycles), shim
    finally:
        if had is None:
            del sys.modules["micropython"]
        else:
            sys.modules["micropython"] = had


# -- construction and pin map ------------------------------------------------------


def test_board_hal_constructs_and_passes_check():
    hal, _ = _board()
    hal.check()
    assert hal.name == "board"
    assert isinstance(hal.clock, hi.Clock)
    assert isinstance(hal.analog_in["crystal_thermistor"], board.PrecisionAnalogIn)
    assert isinstance(hal.analog_in["pump_monitor_pd"], board.OnChipAnalogIn)
    assert isinstance(hal.fsm[1], hi.SteeringMirror)
    assert isinstance(hal.links["space"], hi.ByteLink)
    t0 = hal.clock.ticks_us()
    assert 0 <= t0 <= hi.TICKS_MASK and 0 <= hal.clock.ticks_ms() <= hi.TICKS_MASK


def test_pin_map_names_every_channel_and_uses_each_gpio_once():
    names = (hi.ANALOG_INPUTS + hi.ANALOG_OUTPUTS + hi.DIGITAL_OUTPUTS + hi.DIGITAL_INPUTS
             + hi.COUNTERS + ("space", "lab", "spi0", "spi1", "coincidence_unit"))
    for n in names:
        assert n in PM, n
    for b in range(hi.BEAMS):
        for what in ("fsm", "fine_sensor", "coarse_sensor", "gimbal"):
            assert "%s%d" % (what, b) in PM
    for w in range(hi.WHEELS):
        assert "tach%d" % w in PM
    used = board.gpios_used()
    assert len(used) == 44  # spares: GP2, GP3, GP6 (the old PIO counter inputs) and GP47
    for spare in (2, 3, 6, 47):
        assert spare not in used, spare
    assert used[8] == "coincidence_unit" and used[7] == "basis_select"
    assert used[0] == "space" and used[18] == "spi0" and used[10] == "spi1"
    bad = {}
    for k in PM:
        bad[k] = PM[k]
    bad["beacon_enable"] = ("out", 23)  # same pin as pump_enable
    e = raises(ValueError, board.gpios_used, bad)
    assert "GP23" in str(e)


def test_fake_rejects_a_pin_without_the_function():
    bench.reset()
    raises(ValueError, lambda: machine.SPI(0, 1000000, sck=machine.Pin(10)))  # GP10 carries SPI1
    raises(ValueError, machine.ADC, machine.Pin(26))  # RP2350B: ADC inputs on GP40-47 only
    machine.PWM(machine.Pin(26), freq=20000, duty_u16=0)  # PWM5 A
    raises(ValueError, lambda: machine.PWM(machine.Pin(10), freq=20000))  # PWM5 A again
    raises(ValueError, lambda: machine.PWM(machine.Pin(27), freq=1000))  # PWM5 B at another rate
    raises(ValueError, lambda: machine.UART(1, 115200, tx=machine.Pin(0)))  # GP0 carries UART0


# -- precision ADC ------------------------------------------------------------------


def test_thermistor_microvolts_for_scripted_codes():
    hal, chips = _board()
    th = hal.analog_in["crystal_thermistor"]
    model = chips["crystal_thermistor"]
    assert model.regs == bytearray(b"\x04\x04\x10\x00")  # gain 4, 20 SPS continuous, internal ref, 50/60 Hz
    assert model.converting
    # gain 4: 1 code = 2.048e6 / (4 * 2**23) = 0.06103515625 uV
    for code, uv in (
        (0, 0),
        (16384, 1000),  # exactly 1 mV
        (-16384, -1000),
        (655360, 40000),  # 40 mV: 1 K off balance at 40 uV/mK
        (9, 1),  # 0.549 uV rounds up
        (7, 0),  # 0.427 uV rounds down
        (0x7FFFFF, 512000),  # positive full scale (511999.94 uV)
        (-0x800000, -512000),  # negative full scale
    ):
        model.code = code
        assert th.read_uv() == uv, (code, th.read_uv(), uv)
    chips["diode_thermistor"].code = -16384
    assert hal.analog_in["diode_thermistor"].read_uv() == -1000
    assert th.read_uv() == -512000  # the other chip kept its own code


def test_ads1220_gain_1_full_scale_is_the_reference():
    bench.reset()
    spi = machine.SPI(1, 1000000, polarity=0, phase=1, sck=machine.Pin(10), mosi=machine.Pin(11),
                      miso=machine.Pin(12))
    model = bench.attach(1, 13, machine.ADS1220Model())
    adc = ADS1220(spi, machine.Pin(13, machine.Pin.OUT, value=1), gain=1)
    assert adc.read_config() == b"\x00\x04\x10\x00"
    model.code = -0x800000
    assert adc.read_uv() == -2048000
    model.code = 0x7FFFFF
    assert adc.read_uv() == 2048000
    assert adc.code_to_uv(4096) == 1000  # 4096 * 0.244140625
    raises(ValueError, ADS1220, spi, machine.Pin(13), 3)


def test_ads1220_probe_failure_raises_oserror_naming_device():
    _bench()
    bench.detach(PM["crystal_thermistor"][2])  # no chip answers on GP13: MISO reads 0xFF
    e = raises(OSError, board.BoardHal)
    msg = str(e)
    assert "ADS1220" in msg and "crystal_thermistor" in msg and "GP13" in msg, msg
    assert "ff ff ff ff" in msg, msg


def test_ads1220_probe_retries_a_bounded_number_of_times():
    bench.reset()
    spi = machine.SPI(1, 1000000, polarity=0, phase=1, sck=machine.Pin(10), mosi=machine.Pin(11),
                      miso=machine.Pin(12))
    cs = machine.Pin(14, machine.Pin.OUT, value=1)
    model = bench.attach(1, 14, machine.ADS1220Model())
    model.fail_probes = 2
    adc = ADS1220(spi, cs, label="ADS1220 under test")
    assert adc.probe_attempts == 3 and model.resets == 3
    model.fail_probes = 3
    e = raises(OSError, ADS1220, spi, cs, 4, 0, "ADS1220 under test")
    assert "ADS1220 under test" in str(e) and "3 tries" in str(e)


def test_spi_mode_mismatch_is_caught_by_the_chip_model():
    bench.reset()
    spi = machine.SPI(1, 1000000, polarity=0, phase=0, sck=machine.Pin(10), mosi=machine.Pin(11),
                      miso=machine.Pin(12))
    bench.attach(1, 13, machine.ADS1220Model())
    raises(RuntimeError, ADS1220, spi, machine.Pin(13, machine.Pin.OUT, value=1))


# -- steering mirror -----------------------------------------------------------------


def test_fsm_set_nrad_produces_dac_codes_and_clamps():
    hal, chips = _board()
    fsm = hal.fsm[0]
    dac = chips["fsm0"]
    assert dac.reference_on and dac.output == [32768, 32768]
    for x, y, code_x, code_y in (
        (0, 0, 32768, 32768),
        (500000, -500000, 49152, 16384),  # half travel: +/- 16384 codes
        (30518, -30518, 33768, 31768),  # 1000 codes of 30.52 nrad, rounded symmetrically
        (15, -15, 32768, 32768),  # under half a code
        (16, -16, 32769, 32767),
        (1000000, -1000000, 65535, 0),  # full travel: top code held at 65535
    ):
        fsm.set_nrad(x, y)
        assert dac.output == [code_x, code_y], (x, y, dac.output)
        assert dac.input == dac.output  # both registers moved on the same update
    assert fsm.saturations == 0
    updates = dac.updates
    fsm.set_nrad(2000000, -3000000)
    assert dac.output == [65535, 0]
    assert fsm.saturations == 1 and fsm.cmd_x_nrad == 1000000 and fsm.cmd_y_nrad == -1000000
    assert dac.updates == updates + 1  # one simultaneous update per command
    assert chips["fsm1"].output == [32768, 32768]  # the other beam's mirror untouched
    assert dac.bad_frames == 0
    for nrad in (-1000000, -999999, -30518, -1, 0, 1, 30517, 999984):
        code = board.nrad_to_code(nrad)
        assert 0 <= code <= 65535
        assert abs(code - 32768 - nrad * 32768 / 1e6) <= 0.5, nrad


def test_fsm_read_into_reads_the_position_monitors():
    hal, _ = _board()
    out = array("i", [0, 0])
    hal.fsm[0].read_into(out)
    assert out[0] == 0 and out[1] == 0  # monitors at mid-scale: mirror centred
    _, _, _, adc_x, adc_y = PM["fsm1"]
    bench.adc_u16[adc_x] = 49152
    bench.adc_u16[adc_y] = 16384
    hal.fsm[1].read_into(out)
    assert out[0] == 500000 and out[1] == -500000


# -- beacon sensors ------------------------------------------------------------------


def test_crc8_check_value():
    assert board.crc8(b"123456789") == 0xF4  # CRC-8/SMBUS check value
    assert machine.crc8_bitwise(b"123456789", 9) == 0xF4


def test_fine_sensor_frames_parse_into_the_callers_array():
    hal, chips = _board()
    s = hal.fine_sensor[0]
    m = chips["fine_sensor0"]
    out = array("i", [0, 0, 0])
    assert not s.read_into(out)  # power-on frame: beacon not seen
    m.publish(1234, -5678)
    assert s.read_into(out)
    assert out[0] == 1234 and out[1] == -5678 and out[2] == 2
    assert not s.read_into(out)  # same exposure again
    m.publish(2 ** 29 - 1, -(2 ** 29))  # extremes that are still small ints
    assert s.read_into(out) and out[0] == 2 ** 29 - 1 and out[1] == -(2 ** 29)
    m.publish(0, 0, seen=False)
    assert not s.read_into(out) and s.seq == 4  # frame taken, beacon lost
    m.seq += 3  # three exposures missed
    m.publish(-1, 1)
    assert s.read_into(out) and out[2] == 8 and s.signal == 1000
    assert s.errors == 0
    m.publish(5, 5)
    m.frame[15] ^= 0x01  # bit error
    assert not s.read_into(out) and s.errors == 1
    m.publish(2 ** 29, 0)  # not a small int: refused
    assert not s.read_into(out) and s.errors == 2
    m.seq = 0xFFFF
    m.publish(7, 7)  # wire sequence wraps to 0
    assert s.read_into(out) and out[0] == 7


def test_coarse_sensors_answer_on_the_foreground_bus():
    hal, chips = _board()
    out = array("i", [0, 0, 0])
    chips["coarse_sensor1"].publish(-250000, 125000)
    assert hal.coarse_sensor[1].read_into(out)
    assert out[0] == -250000 and out[1] == 125000
    assert not hal.coarse_sensor[0].read_into(out)
    assert bench.spi[1].baudrate == board.SPI1_BAUD and bench.spi[0].baudrate == board.SPI0_BAUD


# -- links, watchdog, timer ------------------------------------------------------------


def test_uart_link_round_trip():
    hal, _ = _board()
    space = hal.links["space"]
    packet = b"\x1a\xcf\xfc\x1d" + bytes(range(20))
    assert space.write(packet) == len(packet)
    sent = bench.uart_sent(0)
    assert sent == packet
    assert bench.uart_sent(1) == b""  # nothing on the lab port
    buf = bytearray(64)
    assert space.readinto(buf) == 0  # nothing received yet
    bench.uart_receive(0, sent)  # loop it back
    n = space.readinto(buf)
    assert n == len(packet) and bytes(buf[:n]) == packet
    assert space.readinto(buf) == 0
    bench.uart_receive(1, b"abc")
    small = bytearray(2)
    lab = hal.links["lab"]
    assert lab.readinto(small) == 2 and small == bytearray(b"ab")
    assert lab.readinto(small) == 1 and small[0] == ord("c")
    bench.uart_receive(0, bytes(board.UART_BUF + 10))  # more than the rx buffer holds
    assert bench.uart_overruns[0] == 10


def test_watchdog_reset_cause_mapping_and_feeding():
    for cause, expected in (
        (machine.PWRON_RESET, hi.RESET_POWER_ON),
        (machine.WDT_RESET, hi.RESET_WATCHDOG),
        (machine.SOFT_RESET, hi.RESET_SOFT),
        (machine.HARD_RESET, hi.RESET_SOFT),
    ):
        assert board.reset_cause_from_machine(cause) == expected
        hal, _ = _board(reset_cause=cause)
        assert hal.watchdog.reset_cause() == expected
    wd = hal.watchdog
    wd.feed()  # before start: nothing to feed
    assert bench.wdt is None
    wd.start(2000)
    assert bench.wdt.timeout_ms == 2000
    wd.feed()
    wd.feed()
    assert bench.wdt.feeds == 2
    raises(ValueError, wd.start, 10000)  # beyond the rp2 watchdog's 8388 ms


def test_start_fine_timer_runs_callback_at_1000_hz_in_hard_interrupt():
    hal, _ = _board()
    calls = []
    hal.start_fine_timer(1000, calls.append)
    running = bench.running_timers()
    assert len(running) == 1
    t = running[0]
    assert t.freq_hz == 1000 and t.hard is True and t.mode == machine.Timer.PERIODIC
    bench.fire(t)
    bench.fire(t)
    assert len(calls) == 2 and calls[0] is t
    hal.start_fine_timer(500, calls.append)  # restarting replaces the timer
    running = bench.running_timers()
    assert len(running) == 1 and running[0].freq_hz == 2000
    hal.stop_fine_timer()
    assert bench.running_timers() == []
    bench.fire(running[0])
    assert len(calls) == 2
    raises(ValueError, hal.start_fine_timer, 300, calls.append)  # 1 s / 300 us is not whole
    hal.idle()
    assert bench.idle_calls == 1


# -- counters, gimbal, tachometer, discretes, store -------------------------------------


def test_counters_read_the_coincidence_units_last_latch():
    hal, chips = _board()
    unit = chips["coincidence_unit"]
    assert unit.latches == 1  # the driver latched once at boot: counts start from the unit's
    for name in hi.COUNTERS:
        assert hal.counters[name].count() == 0
    for i in range(8):
        unit.counters[i] = 1000 * (i + 1) + i
    assert hal.counters["singles_a0"].count() == 0  # nothing moves until the next latch
    hal.latch_counters()
    assert unit.latches == 2
    i = 0
    for name in hi.COUNTERS:  # the HAL's order is the unit's register order
        assert PM[name] == ("coinc", i), name
        assert hal.counters[name].count() == 1000 * (i + 1) + i, name
        i += 1
    unit.add(4, 7)
    unit.add(0, 3)
    a0b0 = hal.counters["coinc_a0b0"]
    before = a0b0.count()
    assert before == 5004
    hal.latch_counters()
    assert hi.count_diff(a0b0.count(), before) == 7
    assert hal.counters["singles_a0"].count() == 1003
    assert hal.counters["coinc_a1b1"].count() == 8007  # untouched channel unchanged
    assert bench.selected[1] is None  # chip select released after the burst


def test_coincidence_counts_wrap_at_the_hal_count_mask():
    hal, chips = _board()
    unit = chips["coincidence_unit"]
    c = hal.counters["coinc_a1b0"]
    unit.counters[6] = 0xFFFFFFFE  # two events short of the unit's own 32-bit wrap
    unit.counters[1] = 0xC0000005  # top bits beyond 30 are dropped
    hal.latch_counters()
    before = c.count()
    assert before == hi.COUNT_MASK - 1
    assert hal.counters["singles_a1"].count() == 5
    unit.add(6, 3)  # the unit wraps to 1
    hal.latch_counters()
    after = c.count()
    assert after == 1 and hi.count_diff(after, before) == 3
    for name in hi.COUNTERS:
        n = hal.counters[name].count()
        assert 0 <= n <= hi.COUNT_MASK, (name, n)


def test_coincidence_unit_probe_failure_raises_oserror_naming_it():
    _bench()
    bench.detach(PM["coincidence_unit"][2])  # no unit on GP8: MISO reads 0xFF
    e = raises(OSError, board.BoardHal)
    msg = str(e)
    assert "coincidence unit" in msg and "SPI1" in msg and "GP8" in msg, msg
    assert "ff ff ff ff" in msg and "3 tries" in msg, msg


def test_coincidence_unit_probe_retries_a_bounded_number_of_times():
    bench.reset()
    spi = machine.SPI(1, 1000000, polarity=0, phase=1, sck=machine.Pin(10), mosi=machine.Pin(11),
                      miso=machine.Pin(12))
    cs = machine.Pin(8, machine.Pin.OUT, value=1)
    model = bench.attach(1, 8, machine.CoincidenceUnitModel())
    model.fail_probes = 2
    unit = CoincidenceUnit(spi, cs, label="unit under test")
    assert unit.probe_attempts == 3 and model.id_reads == 3
    model.counters[3] = 42
    assert unit.latch_and_read() is unit.counts and unit.counts[3] == 42
    model.fail_probes = 3
    e = raises(OSError, CoincidenceUnit, spi, cs, "unit under test")
    assert "unit under test" in str(e) and "3 tries" in str(e)


def test_gimbal_rate_demand_and_encoder_angles():
    hal, chips = _board()
    g = hal.gimbal[0]
    _, pwm_az, pwm_el, _, cs_az, _ = PM["gimbal0"]
    assert bench.pwm[pwm_az].duty_u16() == 32768  # still at boot
    g.set_rate_urad_s(25000, -50000)
    assert bench.pwm[pwm_az].duty_u16() == 49152 and bench.pwm[pwm_el].duty_u16() == 0
    g.set_rate_urad_s(60000, -1)  # beyond full scale: held there
    assert bench.pwm[pwm_az].duty_u16() == 65535 and g.rate_az_urad_s == 50000
    assert bench.pwm[pwm_el].duty_u16() == 32767
    chips["gimbal0_az"].angle = 4096  # a quarter turn
    chips["gimbal0_el"].angle = 12288  # three quarters: -pi/2
    out = array("i", [0, 0])
    g.read_into(out)
    assert abs(out[0] - 1570796) <= 1 and abs(out[1] + 1570796) <= 1, (out[0], out[1])
    bench.detach(cs_az)  # a dead encoder reads 0xFFFF: error flag set
    g.read_into(out)
    assert abs(out[0] - 1570796) <= 1 and g.enc_az.errors == 1  # last good angle kept
    _bench()
    bench.detach(PM["gimbal1"][5])
    e = raises(OSError, board.BoardHal)
    assert "AS5047P gimbal1 el" in str(e) and "GP39" in str(e)


def test_tachometer_frequency_and_phase():
    bench.reset()
    clock = VirtualClock(start_us=hi.TICKS_MASK - 30000)  # runs across the tick wrap
    gpio = PM["tach0"][1]
    tach = board.IrqTachometer(gpio, clock)
    out = array("i", [0, 0])
    tach.read_into(out)
    assert out[0] == 0 and out[1] == 0  # no pulse yet
    for _ in range(3):  # 50 Hz wheel: index pulse (low) every 20 ms
        bench.set_input(gpio, 0)
        bench.set_input(gpio, 1)
        clock.advance(20000)
    bench.set_input(gpio, 0)
    bench.set_input(gpio, 1)
    clock.advance(5000)
    tach.read_into(out)
    assert out[0] == 50000 and out[1] == 16384, (out[0], out[1])
    clock.advance(60000)  # three periods without a pulse: stopped
    tach.read_into(out)
    assert out[0] == 0 and out[1] == 0
    bench.set_input(gpio, 0)  # one pulse is not enough to restart
    bench.set_input(gpio, 1)
    tach.read_into(out)
    assert out[0] == 0
    clock.advance(10000)
    bench.set_input(gpio, 0)  # the second one is: 100 Hz now
    bench.set_input(gpio, 1)
    tach.read_into(out)
    assert out[0] == 100000 and out[1] == 0


def test_analog_outputs_discretes_and_on_chip_adc():
    hal, _ = _board()
    assert bench.pwm[PM["crystal_tec"][1]].duty_u16() == 32768  # TEC: no current at boot
    assert bench.pwm[PM["pump_current"][1]].duty_u16() == 0
    assert bench.pwm[PM["lc_retarder"][1]].freq() == board.PWM_FREQ_HZ
    tec = hal.analog_out["crystal_tec"]
    tec.write_u16(70000)
    assert bench.pwm[26].duty_u16() == 65535 and tec.value == 65535
    tec.write_u16(-5)
    assert bench.pwm[26].duty_u16() == 0
    pump = hal.digital_out["pump_enable"]
    assert bench.levels[23] == 0 and not pump.state()
    pump.set(True)
    assert bench.levels[23] == 1 and pump.state()
    pump.set(0)
    assert bench.levels[23] == 0
    basis = hal.digital_out["basis_select"]  # LC rotators: low H/V (boot), high D/A
    assert bench.levels[PM["basis_select"][1]] == 0 and not basis.state()
    basis.set(True)
    assert bench.levels[7] == 1 and basis.state()
    siv = hal.digital_in["station_in_view"]
    assert not siv.value()
    bench.set_input(46, 1)
    assert siv.value()
    assert board.adc_u16_to_uv(0) == 0 and board.adc_u16_to_uv(65535) == 3299949
    bench.set_adc_uv(40, 1650000)
    uv = hal.analog_in["pump_monitor_pd"].read_uv()
    assert abs(uv - 1650000) <= 806, uv  # one 12-bit step
    assert bench.irq_disabled == 0  # interrupts back on


def test_nvstore_file_round_trip_survives_a_new_board():
    hal, _ = _board()
    nv = hal.nvstore
    assert nv.size == board.NVSTORE_SIZE
    buf = bytearray(4)
    nv.readinto(4092, buf)
    assert buf == bytearray(b"\xff\xff\xff\xff")  # fresh file reads as erased flash
    nv.write(100, b"abcd")
    again = board.BoardHal()  # a reboot: same file
    again.nvstore.readinto(100, buf)
    assert buf == bytearray(b"abcd")
    raises(ValueError, nv.write, 4094, b"abcd")
    raises(ValueError, nv.readinto, -1, buf)


# -- the whole payload ---------------------------------------------------------------------


def test_boot_main_runs_the_payload_on_the_board():
    chips = _bench()
    chips["crystal_thermistor"].code = 655360  # +40 mV: crystal 1 K below its set point
    chips["fine_sensor0"].auto = True  # a new exposure on every read
    chips["fine_sensor0"].publish(2000, -1000)
    chips["fine_sensor1"].auto = True
    chips["fine_sensor1"].publish(0, 0)
    bench.fire_timers_on_idle = True  # the fine timer interrupt lands in each idle()
    app, shim = _boot(20)
    hal = app.hal
    assert hal.name == "board"
    if shim is not None:
        assert shim.emergency_buf == 100
    assert bench.idle_calls == 20 and app.fine.runs == 20
    assert bench.running_timers() == []  # main stopped the timer on the way out
    beam = app.beams[0]
    assert beam.frames == 20 and beam.u_x_nrad > 2000 and beam.u_y_nrad < -1000  # chasing the offset
    assert chips["fsm0"].output == [board.nrad_to_code(beam.u_x_nrad), board.nrad_to_code(beam.u_y_nrad)]
    assert chips["fsm1"].output == [32768, 32768]
    assert app.thermal.runs >= 1 and app.crystal.temp_mk == 298150 - 1000
    assert app.source_app.modes.mode == 0  # OFF until the ground commands WARMUP: TEC at zero drive
    assert app.crystal.drive == 32768
    assert bench.pwm[PM["crystal_tec"][1]].duty_u16() == app.crystal.drive
    assert bench.wdt.timeout_ms == 2000 and bench.wdt.feeds >= 1
    assert app.hk_group.runs >= 1 and app.manager.reset_cause == hi.RESET_POWER_ON


# -- allocation (MicroPython only) -----------------------------------------------------------


def test_mp_fine_path_board_methods_allocate_nothing():
    hal, chips = _board()
    chips["fine_sensor0"].auto = True
    chips["fine_sensor0"].publish(1500, -2500)
    out = array("i", [0, 0, 0])
    pos = array("i", [0, 0])
    sensor = hal.fine_sensor[0]
    fsm = hal.fsm[0]

    def read_frame():
        if not sensor.read_into(out):
            raise AssertionError("no frame")

    def command():
        fsm.set_nrad(123456, -654321)

    def command_clamped():
        fsm.set_nrad(5000000, -5000000)

    assert garbage_bytes(read_frame, 1000) == 0
    assert garbage_bytes(command, 1000) == 0
    assert garbage_bytes(command_clamped, 1000) == 0
    assert garbage_bytes(lambda: fsm.read_into(pos), 1000) == 0
    assert out[0] == 1500 and chips["fsm0"].output == [65535, 0]


def test_mp_slower_board_reads_allocate_nothing():
    hal, chips = _board()
    chips["crystal_thermistor"].code = -123456
    th = hal.analog_in["crystal_thermistor"]
    pd = hal.analog_in["pump_monitor_pd"]
    g = hal.gimbal[0]
    tach = hal.tachometers[0]
    pos = array("i", [0, 0])
    assert garbage_bytes(th.read_uv, 1000) == 0
    assert garbage_bytes(pd.read_uv, 1000) == 0
    assert garbage_bytes(lambda: g.read_into(pos), 1000) == 0
    assert garbage_bytes(lambda: tach.read_into(pos), 1000) == 0
    assert garbage_bytes(lambda: g.set_rate_urad_s(1000, -1000), 1000) == 0


def test_mp_coincidence_unit_latch_allocates_nothing():
    hal, chips = _board()
    unit = chips["coincidence_unit"]
    for i in range(8):
        unit.counters[i] = 12345 * (i + 1)  # small: the model's own byte packing stays in small ints
    c = hal.counters["coinc_a1b1"]
    assert garbage_bytes(hal.coincidence_unit.latch_and_read, 1000) == 0
    assert garbage_bytes(hal.latch_counters, 1000) == 0
    assert garbage_bytes(c.count, 1000) == 0
    assert c.count() == 12345 * 8


def test_mp_fine_rate_group_allocates_nothing_on_the_board():
    from payload.app import PayloadApp  # noqa: PLC0415

    hal, chips = _board()
    for b in range(hi.BEAMS):
        chips["fine_sensor%d" % b].auto = True
        chips["fine_sensor%d" % b].publish(300, -300)
    app = PayloadApp(hal)
    app.start()
    assert garbage_bytes(app.run_fine_isr, 1000) == 0
    assert app.fine.runs == 1001
