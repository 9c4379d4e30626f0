"""The board backend: every ``hal.interface`` device on an RP2350 board (MicroPython).

Target: a Raspberry Pi Pico 2-class board built on the RP2350B (QFN-80,
48 GPIOs).  The payload needs 44 signals; the Pico 2's RP2350A brings out only
26 usable GPIOs, so the map below uses the B package while keeping the Pico 2's
conventional functions on GP0-GP22 (UART0 on GP0/1, UART1 on GP4/5, SPI1 on
GP10-13, SPI0 on GP16-19).  docs/board.md gives the reasoning and the parts.

Two SPI buses, split by execution context, never shared between them:

- SPI0 (10 MHz) belongs to the fine pointing loop, which runs in a hard timer
  interrupt: the two fine beacon sensors and the two steering-mirror DACs.
- SPI1 (1 MHz) belongs to the foreground loop: the two precision thermistor
  ADCs, the coincidence unit (the photon counters), the two coarse beacon
  sensors and the four gimbal encoders.

An interrupt that used a bus the foreground was in the middle of using would
corrupt both transfers; with one owner per bus no lock is needed.

Fast-loop methods (``read_into``, ``set_nrad``, ``count``, ``latch_counters``,
the ADC ``read_uv``) allocate nothing: every driver owns its buffers, bound methods for
interrupts are made once in ``__init__``, and all arithmetic is on small ints.
"""

import time
from array import array

import machine

from bus.compat import const
from hal import interface as _hi
from hal.interface import COUNT_MASK, ticks_diff
from hal.ads1220 import ADS1220
from hal.as5047p import AS5047P
from hal.coincidence_unit import CoincidenceUnit
from hal.dac8563 import DAC8563, MIDSCALE, CODE_MAX

# -- the pin map: one entry per channel, one comment per line ------------------------
# Entry: (kind, numbers...).  GPIOs are RP2350 GPIO numbers ("GPn"); PWM slices
# are given as slice/channel.  docs/board.md has the same table for people.
PIN_MAP = {  # type: dict[str, tuple]
    # buses                 kind        id  SCK/TX  MOSI/RX  MISO
    "spi0":                ("spi",      0,  18,     19,      16),  # SPI0 SCK GP18, TX GP19, RX GP16: interrupt bus
    "spi1":                ("spi",      1,  10,     11,      12),  # SPI1 SCK GP10, TX GP11, RX GP12: foreground bus
    "space":               ("uart",     0,  0,      1),            # UART0 TX GP0, RX GP1: platform transceiver
    "lab":                 ("uart",     1,  4,      5),            # UART1 TX GP4, RX GP5: lab / debug port
    # precision analog inputs: ADS1220 on SPI1, (bus, chip select)
    "crystal_thermistor":  ("ads1220",  1,  13),  # CS GP13: PPKTP crystal NTC bridge on AIN0-AIN1
    "diode_thermistor":    ("ads1220",  1,  14),  # CS GP14: pump diode NTC bridge on AIN0-AIN1
    # on-chip 12-bit ADC (RP2350B: ADC0..7 on GP40..47)
    "pump_monitor_pd":     ("adc",      40),  # ADC0: pump back-facet photodiode transimpedance amp
    "pump_current_sense":  ("adc",      41),  # ADC1: pump current shunt amplifier
    # analog outputs: PWM at PWM_FREQ_HZ into RC filters, (GPIO, duty at boot)
    "crystal_tec":         ("pwm",      26, 32768),  # PWM5 A: bipolar TEC driver, 32768 = no current
    "pump_current":        ("pwm",      27, 0),      # PWM5 B: pump current set point, 0 = off
    "lc_retarder":         ("pwm",      28, 0),      # PWM6 A: liquid-crystal retarder drive amplitude
    # discrete outputs (push-pull, low at boot)
    "pump_enable":         ("out",      23),  # pump laser switch; external pull-down, interlock loop in series
    "beacon_enable":       ("out",      24),  # downlink beacon laser
    "sync_enable":         ("out",      25),  # synchronisation pulse train gate
    "basis_select":        ("out",      7),   # LC rotator drivers of both arms: low H/V, high D/A
    # discrete input
    "station_in_view":     ("in",       46),  # pointing's in-view report (pull-down)
    # photon counters: the coincidence unit (hal.coincidence_unit) on SPI1, (bus, chip select)
    "coincidence_unit":    ("coinc_unit", 1, 8),  # CS GP8: 8 counters latched together, read in one burst
    # each counter channel is one of the unit's registers, (register index); no GPIO
    "singles_a0":          ("coinc",    0),  # arm A detector 0 (H or D)
    "singles_a1":          ("coinc",    1),  # arm A detector 1 (V or A)
    "singles_b0":          ("coinc",    2),  # arm B detector 0 (H or D)
    "singles_b1":          ("coinc",    3),  # arm B detector 1 (V or A)
    "coinc_a0b0":          ("coinc",    4),  # coincidences A0-B0
    "coinc_a0b1":          ("coinc",    5),  # coincidences A0-B1
    "coinc_a1b0":          ("coinc",    6),  # coincidences A1-B0
    "coinc_a1b1":          ("coinc",    7),  # coincidences A1-B1
    # steering mirrors: DAC8563 on SPI0 (A = x, B = y), position monitors on the ADC
    #                       kind       bus CS  ADC x  ADC y
    "fsm0":                ("dac8563",  0, 21, 42, 43),  # CS GP21; x monitor ADC2 GP42, y ADC3 GP43
    "fsm1":                ("dac8563",  0, 22, 44, 45),  # CS GP22; x monitor ADC4 GP44, y ADC5 GP45
    # beacon sensors: 16-byte frames (see SpiBeaconSensor), (bus, chip select)
    "fine_sensor0":        ("frame",    0, 17),  # SPI0 CS GP17: beam 0 fine sensor (quad cell, 1 kHz frames)
    "fine_sensor1":        ("frame",    0, 20),  # SPI0 CS GP20: beam 1 fine sensor
    "coarse_sensor0":      ("frame",    1, 15),  # SPI1 CS GP15: beam 0 coarse camera
    "coarse_sensor1":      ("frame",    1, 9),   # SPI1 CS GP9:  beam 1 coarse camera
    # gimbals: rate demand as PWM to the servo amplifier, AS5047P encoders on SPI1
    #                       kind       PWM az PWM el bus CS az CS el
    "gimbal0":             ("gimbal",   32,    33,    1,  36,   37),  # PWM8 A/B; encoders CS GP36, GP37
    "gimbal1":             ("gimbal",   34,    35,    1,  38,   39),  # PWM9 A/B; encoders CS GP38, GP39
    # reaction-wheel tachometers: one open-collector index pulse per revolution
    "tach0":               ("tach",     29),  # wheel 0, falling edge = phase 0
    "tach1":               ("tach",     30),  # wheel 1
    "tach2":               ("tach",     31),  # wheel 2
}
# Spares: GP2, GP3, GP6 (the old PIO counter inputs) and GP47 (ADC7).

# where the GPIO numbers sit in each kind of entry (for the duplicate check)
_GPIO_FIELDS = {
    "spi": (2, 3, 4), "uart": (2, 3), "ads1220": (2,), "adc": (1,), "pwm": (1,),
    "out": (1,), "in": (1,), "coinc_unit": (2,), "coinc": (), "dac8563": (2, 3, 4), "frame": (2,),
    "gimbal": (1, 2, 4, 5), "tach": (1,),
}

SPI0_BAUD = const(10000000)  # fine sensors (20 MHz max), DAC8563 (50 MHz max)
SPI1_BAUD = const(1000000)  # ADS1220 (6.6 MHz max), AS5047P (10 MHz max), coincidence unit
UART_BAUD = const(115200)
UART_BUF = const(2048)  # bytes per direction: ~180 ms of traffic at 115200 baud
PWM_FREQ_HZ = const(20000)  # above hearing, well inside the RC filters' stop band
THERMISTOR_GAIN = const(4)  # ADS1220 PGA: +/-512 mV span = +/-12.8 K at 40 uV/mK
WDT_MAX_TIMEOUT_MS = const(8388)  # 0xFFFFFF us / 2: the RP2040 watchdog counts twice per us; kept for both chips
NVSTORE_PATH = "/nvstore.bin"  # file on the board's LittleFS flash filesystem
NVSTORE_SIZE = const(4096)
_NVSTORE_FILL = const(256)  # bytes of 0xFF written per step when creating the file

GIMBAL_RATE_FULL_SCALE_URAD_S = const(50000)  # +/- 50 mrad/s = duty 0 / 65535
TACH_TIMEOUT_US = const(2000000)  # no index pulse for 2 s: wheel taken as stopped

# beacon sensor frame (our sensor electronics' interface, docs/board.md)
FRAME_LEN = const(16)
FRAME_SYNC = const(0xA5)
FRAME_FLAG_SEEN = const(0x01)  # spot inside the field of view
_CRC8_POLY = const(0x07)  # CRC-8/SMBUS: poly 0x07, init 0, no reflection

def gpios_used(pin_map=PIN_MAP):
    """{GPIO: channel name} of every GPIO in ``pin_map``; ValueError on a duplicate."""
    used = {}  # type: dict[int, str]
    for name in pin_map:
        entry = pin_map[name]
        for i in _GPIO_FIELDS[entry[0]]:
            gpio = entry[i]
            if gpio in used:
                raise ValueError("pin map: GP%d used by %s and %s" % (gpio, used[gpio], name))
            used[gpio] = name
    return used


def _cs(gpio: int) -> machine.Pin:
    return machine.Pin(gpio, machine.Pin.OUT, value=1)


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else (hi if v > hi else v)


# -- clock -------------------------------------------------------------------------


class BoardClock(_hi.Clock):
    """MicroPython's tick counters (wrap at 2**30, like hal.interface's)."""

    def ticks_us(self) -> int:
        return time.ticks_us()

    def ticks_ms(self) -> int:
        return time.ticks_ms()


# -- analog ------------------------------------------------------------------------


def adc_u16_to_uv(raw: int) -> int:
    """On-chip ADC reading (0..65535) to uV at 3.3 V full scale, integers only.

    uV = raw * 3.3e6 / 65536 = ((raw * 3300) >> 6) * 125 >> 7; the largest
    intermediate is 65535 * 3300 = 216,265,500 < 2**30.
    """
    return (((raw * 3300) >> 6) * 125) >> 7


class OnChipAnalogIn(_hi.AnalogIn):
    """An RP2350 ADC input (12 bits, read_u16 scales to 16), 3.3 V reference.

    Reads are made with interrupts off: the fine loop's interrupt may read the
    mirror position monitors on the same converter, and the RP2350 ADC selects
    the channel and converts in two steps (about 2 us with interrupts held).
    """

    def __init__(self, gpio: int) -> None:
        self._adc = machine.ADC(machine.Pin(gpio))

    def read_uv(self) -> int:
        state = machine.disable_irq()
        raw = self._adc.read_u16()
        machine.enable_irq(state)
        return adc_u16_to_uv(raw)


class PrecisionAnalogIn(_hi.AnalogIn):
    """A thermistor bridge read by its own ADS1220 (see hal.ads1220)."""

    def __init__(self, adc: ADS1220) -> None:
        self.adc = adc

    def read_uv(self) -> int:
        return self.adc.read_uv()


class PwmAnalogOut(_hi.AnalogOut):
    """PWM into an RC filter (or a driver's PWM input); duty = the u16 value."""

    def __init__(self, gpio: int, initial_u16: int) -> None:
        self.value = initial_u16  # last duty written (u16)
        self._pwm = machine.PWM(machine.Pin(gpio), freq=PWM_FREQ_HZ, duty_u16=initial_u16)

    def write_u16(self, value: int) -> None:
        value = _clamp(value, 0, 0xFFFF)
        self._pwm.duty_u16(value)
        self.value = value


# -- discrete ----------------------------------------------------------------------


class PinDigitalOut(_hi.DigitalOut):
    def __init__(self, gpio: int) -> None:
        self._pin = machine.Pin(gpio, machine.Pin.OUT, value=0)
        self._on = False  # level commanded

    def set(self, on: bool) -> None:
        on = bool(on)
        self._pin.value(1 if on else 0)
        self._on = on

    def state(self) -> bool:
        return self._on


class PinDigitalIn(_hi.DigitalIn):
    def __init__(self, gpio: int) -> None:
        self._pin = machine.Pin(gpio, machine.Pin.IN, machine.Pin.PULL_DOWN)

    def value(self) -> bool:
        return bool(self._pin.value())


# -- pulse counters -----------------------------------------------------------------


class LatchedPulseCounter(_hi.PulseCounter):
    """One register of the coincidence unit, as of the last latch.

    ``count()`` returns the value ``BoardHal.latch_counters()`` last read
    (all eight channels latched at the same instant), wrapping at
    COUNT_MASK + 1: an array element read, no bus traffic, no allocation.
    """

    def __init__(self, unit: CoincidenceUnit, index: int) -> None:
        self._counts = unit.counts  # filled in place by every latch
        self._index = index

    def count(self) -> int:
        return self._counts[self._index]


# -- steering mirror -------------------------------------------------------------------


def nrad_to_code(nrad: int) -> int:
    """DAC code for a mirror angle already clamped to +/- TRAVEL_NRAD.

    code = 32768 + nrad * 32768 / 1e6 = 32768 + nrad * 1024 / 31250, rounded;
    nrad * 1024 + 15625 <= 1,024,015,625 < 2**30.  +TRAVEL gives 65536, one
    past the top, and is held at 65535 (30.5 nrad short of full travel).
    """
    code = MIDSCALE + (nrad * 1024 + 15625) // 31250
    if code > CODE_MAX:
        return CODE_MAX
    if code < 0:
        return 0
    return code


def monitor_u16_to_nrad(raw: int) -> int:
    """Mirror position monitor (0..3.3 V = -1 mrad..+1 mrad) read as u16, to nrad.

    nrad = (raw - 32768) * 1e6 / 32768 = (raw - 32768) * 15625 >> 9.
    """
    return ((raw - 32768) * 15625) >> 9


class DacSteeringMirror(_hi.SteeringMirror):
    """Fast steering mirror: DAC8563 drive, position monitors on the on-chip ADC.

    ``read_into`` reads the mirror driver's strain-gauge monitor outputs: 12-bit
    conversions over +/- 1 mrad, so about 490 nrad per LSB: a health and
    calibration readback, not the fine loop's feedback (that is the beacon).
    Both conversions are taken with interrupts off (as OnChipAnalogIn does), so
    the method is safe from the fine loop's interrupt and from the foreground.
    """

    def __init__(self, dac: DAC8563, adc_x_gpio: int, adc_y_gpio: int) -> None:
        self._dac = dac
        self._adc_x = machine.ADC(machine.Pin(adc_x_gpio))
        self._adc_y = machine.ADC(machine.Pin(adc_y_gpio))
        self.cmd_x_nrad = 0  # last command after clamping (nrad)
        self.cmd_y_nrad = 0
        self.saturations = 0  # commands that hit the travel limit (wraps at 2**30)

    def set_nrad(self, x_nrad: int, y_nrad: int) -> None:
        lim = self.TRAVEL_NRAD
        sat = False
        if x_nrad > lim:
            x_nrad = lim
            sat = True
        elif x_nrad < -lim:
            x_nrad = -lim
            sat = True
        if y_nrad > lim:
            y_nrad = lim
            sat = True
        elif y_nrad < -lim:
            y_nrad = -lim
            sat = True
        if sat:
            self.saturations = (self.saturations + 1) & COUNT_MASK
        self.cmd_x_nrad = x_nrad
        self.cmd_y_nrad = y_nrad
        self._dac.write_both(nrad_to_code(x_nrad), nrad_to_code(y_nrad))

    def read_into(self, out) -> None:
        state = machine.disable_irq()
        raw_x = self._adc_x.read_u16()
        raw_y = self._adc_y.read_u16()
        machine.enable_irq(state)
        out[0] = monitor_u16_to_nrad(raw_x)
        out[1] = monitor_u16_to_nrad(raw_y)


# -- gimbal ----------------------------------------------------------------------------


def rate_to_duty(rate_urad_s: int) -> int:
    """Servo amplifier rate demand: 32768 = still, 0 / 65535 = -/+ full scale.

    duty = 32768 + rate * 32768 / 50000 = 32768 + rate * 2048 / 3125 (floor);
    |rate * 2048| <= 1.03e8 after clamping.
    """
    fs = GIMBAL_RATE_FULL_SCALE_URAD_S
    rate_urad_s = _clamp(rate_urad_s, -fs, fs)
    return _clamp(MIDSCALE + (rate_urad_s * 2048) // 3125, 0, 0xFFFF)


class PwmRateGimbal(_hi.Gimbal):
    """Two-axis gimbal: each axis's servo amplifier closes its own rate loop on a
    PWM rate demand; the angle comes from an AS5047P absolute encoder."""

    def __init__(self, pwm_az_gpio: int, pwm_el_gpio: int, enc_az: AS5047P, enc_el: AS5047P) -> None:
        self._pwm_az = machine.PWM(machine.Pin(pwm_az_gpio), freq=PWM_FREQ_HZ, duty_u16=MIDSCALE)
        self._pwm_el = machine.PWM(machine.Pin(pwm_el_gpio), freq=PWM_FREQ_HZ, duty_u16=MIDSCALE)
        self.enc_az = enc_az
        self.enc_el = enc_el
        self.rate_az_urad_s = 0  # last demand after clamping
        self.rate_el_urad_s = 0

    def set_rate_urad_s(self, az_urad_s: int, el_urad_s: int) -> None:
        fs = GIMBAL_RATE_FULL_SCALE_URAD_S
        self.rate_az_urad_s = _clamp(az_urad_s, -fs, fs)
        self.rate_el_urad_s = _clamp(el_urad_s, -fs, fs)
        self._pwm_az.duty_u16(rate_to_duty(az_urad_s))
        self._pwm_el.duty_u16(rate_to_duty(el_urad_s))

    def read_into(self, out) -> None:
        out[0] = self.enc_az.read_urad()
        out[1] = self.enc_el.read_urad()


# -- beacon sensors ----------------------------------------------------------------------

_crc8_table = None  # type: bytes | None  # built on first use


def crc8_table() -> bytes:
    """CRC-8/SMBUS lookup table (poly 0x07), built once."""
    global _crc8_table
    if _crc8_table is None:
        t = bytearray(256)
        for i in range(256):
            c = i
            for _ in range(8):
                c = ((c << 1) ^ _CRC8_POLY) & 0xFF if c & 0x80 else (c << 1) & 0xFF
            t[i] = c
        _crc8_table = bytes(t)
    return _crc8_table


def crc8(data, n: int = -1) -> int:
    """CRC-8/SMBUS of the first ``n`` bytes of ``data`` (all when n < 0)."""
    tbl = crc8_table()
    if n < 0:
        n = len(data)
    c = 0
    i = 0
    while i < n:
        c = tbl[c ^ data[i]]
        i += 1
    return c


class SpiBeaconSensor(_hi.BeaconSensor):
    """Beacon sensor electronics answering every SPI read with its latest frame.

    Frame (16 bytes, big-endian), the interface of our sensor electronics:

    ====  =====================================================
    0     sync 0xA5
    1     flags: bit 0 beacon spot inside the field of view
    2-3   frame sequence (u16, +1 per exposure)
    4-7   x offset, nrad (i32)
    8-11  y offset, nrad (i32)
    12-13 spot signal (u16, counts)
    14    reserved (0)
    15    CRC-8/SMBUS of bytes 0-14
    ====  =====================================================

    ``read_into`` reads one frame into a preallocated buffer; a frame with a
    bad sync byte or CRC, or an offset beyond +/- 2**29 nrad (not a small
    int), is counted in ``errors`` and ignored.  The 16-bit wire sequence is
    extended into a running count wrapping at COUNT_MASK + 1.
    """

    def __init__(self, spi: machine.SPI, cs_gpio: int) -> None:
        self._spi = spi
        self._cs = _cs(cs_gpio)
        self._buf = bytearray(FRAME_LEN)
        self._crc = crc8_table()
        self._last_wire = -1  # wire sequence of the last frame taken; -1: none yet
        self.seq = 0  # running frame count
        self.signal = 0  # spot signal of the last frame taken
        self.errors = 0  # frames rejected (wraps at 2**30)

    def _error(self) -> bool:
        self.errors = (self.errors + 1) & COUNT_MASK
        return False

    def read_into(self, out) -> bool:
        buf = self._buf
        self._cs(0)
        self._spi.readinto(buf, 0)
        self._cs(1)
        if buf[0] != FRAME_SYNC:
            return self._error()
        tbl = self._crc
        c = 0
        i = 0
        while i < 15:
            c = tbl[c ^ buf[i]]
            i += 1
        if c != buf[15]:
            return self._error()
        wire = (buf[2] << 8) | buf[3]
        if self._last_wire < 0:
            step = 1
        else:
            step = (wire - self._last_wire) & 0xFFFF
            if step == 0:
                return False  # same exposure as last time
        hx = buf[4]
        hy = buf[8]
        if hx & 0x80:
            hx -= 256
        if hy & 0x80:
            hy -= 256
        if hx < -32 or hx > 31 or hy < -32 or hy > 31:
            return self._error()
        self._last_wire = wire
        self.seq = (self.seq + step) & COUNT_MASK
        self.signal = (buf[12] << 8) | buf[13]
        if not buf[1] & FRAME_FLAG_SEEN:
            return False
        out[0] = (((hx << 8 | buf[5]) << 8) | buf[6]) << 8 | buf[7]
        out[1] = (((hy << 8 | buf[9]) << 8) | buf[10]) << 8 | buf[11]
        out[2] = self.seq
        return True


# -- tachometers ---------------------------------------------------------------------------


class IrqTachometer(_hi.Tachometer):
    """Reaction-wheel index pulse timed by a hard pin interrupt.

    The handler (bound once, allocation-free) stores the edge time and the
    period since the previous edge in an ``array``; ``read_into`` copies them
    with interrupts off and derives

    - frequency: 1e9 / period_us mHz (one pulse per revolution; 1e9 < 2**30);
    - phase: elapsed / period in 1/65536 revolution, both scaled down below
      2**14 first so that ``elapsed << 16`` stays a small int.

    No pulse for more than two periods (or TACH_TIMEOUT_US) reads as stopped
    (0 mHz, phase 0) until two fresh pulses arrive.  ``clock`` is the HAL clock
    (a test may give a virtual one).
    """

    def __init__(self, gpio: int, clock: _hi.Clock) -> None:
        self._clock = clock
        self._edge = array("i", [0, 0, 0])  # last edge (ticks_us), period (us), edges seen (0..2)
        self._handler = self._on_edge  # bound once: no allocation in the interrupt
        self._pin = machine.Pin(gpio, machine.Pin.IN, machine.Pin.PULL_UP)
        self._pin.irq(handler=self._handler, trigger=machine.Pin.IRQ_FALLING, hard=True)

    def _on_edge(self, _pin) -> None:
        t = self._clock.ticks_us()
        e = self._edge
        if e[2]:
            e[1] = ticks_diff(t, e[0])
            e[2] = 2
        else:
            e[2] = 1
        e[0] = t

    def read_into(self, out) -> None:
        e = self._edge
        state = machine.disable_irq()
        last = e[0]
        period = e[1]
        edges = e[2]
        machine.enable_irq(state)
        if edges < 2 or period <= 0:
            out[0] = 0
            out[1] = 0
            return
        elapsed = ticks_diff(self._clock.ticks_us(), last)
        if elapsed < 0 or elapsed - period > period or elapsed > TACH_TIMEOUT_US:
            state = machine.disable_irq()
            if e[0] == last:
                e[2] = 0  # stale: wait for two new pulses
            machine.enable_irq(state)
            out[0] = 0
            out[1] = 0
            return
        out[0] = 1000000000 // period
        if elapsed >= period:
            elapsed = period - 1
        while period > 0x3FFF:
            period >>= 1
            elapsed >>= 1
        out[1] = (elapsed << 16) // period


# -- watchdog, store, links --------------------------------------------------------------------


def reset_cause_from_machine(cause: int) -> int:
    """machine.reset_cause() to hal.interface's RESET_* (anything else: RESET_SOFT)."""
    if cause == machine.WDT_RESET:
        return _hi.RESET_WATCHDOG
    if cause == machine.PWRON_RESET:
        return _hi.RESET_POWER_ON
    return _hi.RESET_SOFT


class WdtWatchdog(_hi.Watchdog):
    """machine.WDT: cannot be stopped once started (neither can the hardware)."""

    def __init__(self) -> None:
        self._wdt = None  # type: machine.WDT | None
        self.timeout_ms = 0  # 0: not started
        self._cause = reset_cause_from_machine(machine.reset_cause())

    def start(self, timeout_ms: int) -> None:
        if timeout_ms < 1 or timeout_ms > WDT_MAX_TIMEOUT_MS:
            raise ValueError("watchdog: timeout %d ms outside 1..%d" % (timeout_ms, WDT_MAX_TIMEOUT_MS))
        self._wdt = machine.WDT(timeout=timeout_ms)
        self.timeout_ms = timeout_ms

    def feed(self) -> None:
        if self._wdt is not None:
            self._wdt.feed()

    def reset_cause(self) -> int:
        return self._cause


class FileNvStore(_hi.NonVolatileStore):
    """A fixed-size file on the flash filesystem (LittleFS on rp2).

    Created filled with 0xFF (like erased flash) when missing or short.  Each
    call opens and closes the file, so every write is committed by LittleFS's
    copy-on-write close: a reset mid-write leaves the previous contents.
    Foreground only (opening a file allocates).
    """

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        try:
            f = open(path, "r+b")
        except OSError:
            f = open(path, "w+b")
        try:
            end = f.seek(0, 2)
            fill = b"\xff" * _NVSTORE_FILL
            while end < size:
                n = size - end
                f.write(fill if n >= _NVSTORE_FILL else fill[:n])
                end += n if n < _NVSTORE_FILL else _NVSTORE_FILL
        finally:
            f.close()

    def _check(self, offset: int, n: int) -> None:
        if offset < 0 or offset + n > self.size:
            raise ValueError("nvstore: %d bytes at %d outside %d" % (n, offset, self.size))

    def readinto(self, offset: int, buf) -> None:
        self._check(offset, len(buf))
        with open(self.path, "rb") as f:
            f.seek(offset)
            f.readinto(buf)

    def write(self, offset: int, data) -> None:
        self._check(offset, len(data))
        with open(self.path, "r+b") as f:
            f.seek(offset)
            f.write(data)


class UartLink(_hi.ByteLink):
    is_stream = True
    """A UART as a byte stream (framing, e.g. the 0x1ACFFC1D sync marker, is the
    caller's).  Non-blocking both ways: ``timeout=0``; a full transmit buffer
    takes fewer bytes than offered, and the count says how many."""

    def __init__(self, uart_id: int, tx_gpio: int, rx_gpio: int) -> None:
        self._uart = machine.UART(uart_id, UART_BAUD, tx=machine.Pin(tx_gpio), rx=machine.Pin(rx_gpio),
                                  txbuf=UART_BUF, rxbuf=UART_BUF, timeout=0)

    def write(self, data) -> int:
        n = self._uart.write(data)
        return n if n else 0

    def readinto(self, buf) -> int:
        n = self._uart.readinto(buf)
        return n if n else 0


# -- the board -------------------------------------------------------------------------------


class BoardHal(_hi.Hal):
    """Every device of hal.interface on the RP2350B board, from PIN_MAP.

    Construction order: buses, then the chips on them (each probed; a chip
    that does not answer raises OSError naming it), then on-chip peripherals.
    ``start_fine_timer``/``stop_fine_timer``/``idle`` serve payload.boot.
    """

    name = "board"

    def __init__(self) -> None:
        super().__init__()
        gpios_used()  # a duplicated pin in PIN_MAP stops the boot here
        pm = PIN_MAP
        clock = BoardClock()
        self.clock = clock
        self._fine_timer = None  # type: machine.Timer | None
        self.spi = [_spi(pm["spi0"], SPI0_BAUD), _spi(pm["spi1"], SPI1_BAUD)]  # by bus id
        spi = self.spi

        for name in ("crystal_thermistor", "diode_thermistor"):
            _, bus, cs = pm[name]
            label = "ADS1220 for %s (SPI%d, CS GP%d)" % (name, bus, cs)
            self.analog_in[name] = PrecisionAnalogIn(ADS1220(spi[bus], _cs(cs), gain=THERMISTOR_GAIN, label=label))
        for name in ("pump_monitor_pd", "pump_current_sense"):
            self.analog_in[name] = OnChipAnalogIn(pm[name][1])
        for name in _hi.ANALOG_OUTPUTS:
            _, gpio, initial = pm[name]
            self.analog_out[name] = PwmAnalogOut(gpio, initial)
        for name in _hi.DIGITAL_OUTPUTS:
            self.digital_out[name] = PinDigitalOut(pm[name][1])
        for name in _hi.DIGITAL_INPUTS:
            self.digital_in[name] = PinDigitalIn(pm[name][1])
        _, bus, cs = pm["coincidence_unit"]
        self.coincidence_unit = CoincidenceUnit(
            spi[bus], _cs(cs), label="coincidence unit (SPI%d, CS GP%d)" % (bus, cs))
        for name in _hi.COUNTERS:
            self.counters[name] = LatchedPulseCounter(self.coincidence_unit, pm[name][1])

        for b in range(_hi.BEAMS):
            _, bus, cs, adc_x, adc_y = pm["fsm%d" % b]
            self.fsm.append(DacSteeringMirror(DAC8563(spi[bus], _cs(cs)), adc_x, adc_y))
            _, bus, cs = pm["fine_sensor%d" % b]
            self.fine_sensor.append(SpiBeaconSensor(spi[bus], cs))
            _, bus, cs = pm["coarse_sensor%d" % b]
            self.coarse_sensor.append(SpiBeaconSensor(spi[bus], cs))
            _, pwm_az, pwm_el, bus, cs_az, cs_el = pm["gimbal%d" % b]
            enc_az = AS5047P(spi[bus], _cs(cs_az), label="AS5047P gimbal%d az (SPI%d, CS GP%d)" % (b, bus, cs_az))
            enc_el = AS5047P(spi[bus], _cs(cs_el), label="AS5047P gimbal%d el (SPI%d, CS GP%d)" % (b, bus, cs_el))
            self.gimbal.append(PwmRateGimbal(pwm_az, pwm_el, enc_az, enc_el))
        for w in range(_hi.WHEELS):
            self.tachometers.append(IrqTachometer(pm["tach%d" % w][1], clock))

        self.watchdog = WdtWatchdog()
        self.nvstore = FileNvStore(NVSTORE_PATH, NVSTORE_SIZE)
        for name in ("space", "lab"):
            _, uart_id, tx, rx = pm[name]
            self.links[name] = UartLink(uart_id, tx, rx)
        self.check()

    def latch_counters(self) -> None:
        """Latch the coincidence unit's eight counters together and read them
        (one 33-octet SPI1 transfer, foreground only); every counter's
        ``count()`` then returns its value at this latch.  No allocation."""
        self.coincidence_unit.latch_and_read()

    def start_fine_timer(self, period_us: int, callback) -> None:
        """Run ``callback(timer)`` every ``period_us`` from a hard timer interrupt.

        ``callback`` takes the ``machine.Timer``; pass a method bound once.  It
        must not allocate (MicroPython forbids it in a hard interrupt);
        payload.boot allocates the emergency exception buffer so that a fault
        inside it is still reported.
        """
        if period_us <= 0 or 1000000 % period_us:
            raise ValueError("fine timer: period %d us does not divide 1 s" % period_us)
        self.stop_fine_timer()
        timer = machine.Timer(-1)
        timer.init(mode=machine.Timer.PERIODIC, freq=1000000 // period_us, callback=callback, hard=True)
        self._fine_timer = timer

    def stop_fine_timer(self) -> None:
        if self._fine_timer is not None:
            self._fine_timer.deinit()
            self._fine_timer = None

    def idle(self) -> None:
        """Short cooperative pause of the foreground loop (waits for an interrupt)."""
        machine.idle()


def _spi(entry: tuple, baud: int) -> machine.SPI:
    _, bus, sck, mosi, miso = entry
    # mode 1 (CPOL 0, CPHA 1) suits every chip on both buses
    return machine.SPI(bus, baud, polarity=0, phase=1, bits=8, firstbit=machine.SPI.MSB,
                       sck=machine.Pin(sck), mosi=machine.Pin(mosi), miso=machine.Pin(miso))
