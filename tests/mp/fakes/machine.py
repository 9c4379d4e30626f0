"""A fake ``machine`` module for testing hal.board off the board (MicroPython subset).

It mimics the part of MicroPython's ``machine`` API that hal.board uses (Pin,
SPI, ADC, PWM, Timer, WDT, UART, reset_cause, idle, freq, disable_irq,
enable_irq) with the same names and parameters, on an RP2350B (48 GPIOs), and
enforces the chip's pin rules where a wrong pin map would fail on hardware:
SPI and UART signals only on the GPIOs that carry them, ADC inputs only on
GP40-47, no two PWM outputs on one slice channel, one peripheral per GPIO.

Everything outside the microcontroller lives on ``bench`` (a ``Bench``): the
chips on the SPI buses (models that answer byte for byte like the real parts:
``ADS1220Model``, ``DAC8563Model``, ``AS5047PModel``, ``BeaconFrameModel``,
``CoincidenceUnitModel``),
levels driven onto input pins, ADC voltages, the far end of each UART, the
reset cause; and what the board did: PWM duties, timers (fired by the test),
the watchdog.  Tests call ``bench.reset()`` and wire chips before building a
``BoardHal``; ``bench.populate(PIN_MAP)`` wires one model per chip of a pin map.

The models' per-byte paths and the SPI transfers allocate nothing, so a test
can measure the board code's own allocations through them on MicroPython.

On CPython the module also gives ``time`` MicroPython's tick functions
(``ticks_us``, ``ticks_ms``, ``ticks_diff``, ``ticks_add``, ``sleep_us``,
``sleep_ms``), as the board firmware does, when they are missing.
"""

import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

NUM_GPIO = 48  # RP2350B
SYS_FREQ_HZ = 150000000

# GPIO function table (RP2350 datasheet, "Function Select"), per bus id
_SPI_PINS = {
    0: ((2, 6, 18, 22, 34, 38), (3, 7, 19, 23, 35, 39), (0, 4, 16, 20, 32, 36)),  # SCK, TX, RX
    1: ((10, 14, 26, 30, 42, 46), (11, 15, 27, 31, 43, 47), (8, 12, 24, 28, 40, 44)),
}
_UART_PINS = {
    0: ((0, 12, 16, 28, 32, 44), (1, 13, 17, 29, 33, 45)),  # TX, RX
    1: ((4, 8, 20, 24, 36, 40), (5, 9, 21, 25, 37, 41)),
}
_ADC_GPIO0 = 40  # RP2350B: ADC channel n on GP40 + n, n = 0..7
_PWM_FREQ_MIN = 8  # Hz, 16-bit wrap with the largest divider at 150 MHz
_WDT_MAX_MS = 8388

TEST_HOOKS = ("bench", "Bench", "TEST_HOOKS", "NUM_GPIO", "SYS_FREQ_HZ", "adc_u16_for_uv",
              "SpiChipModel", "ADS1220Model", "DAC8563Model", "AS5047PModel", "BeaconFrameModel",
              "CoincidenceUnitModel",
              "crc8_bitwise", "parity16")


def _gpio_of(p):
    if isinstance(p, Pin):
        return p._id
    if isinstance(p, int) and 0 <= p < NUM_GPIO:
        return p
    raise ValueError("invalid pin %r" % (p,))


def _pwm_slice(gpio):
    """(slice, channel) driven by ``gpio`` on the RP2350B."""
    if gpio < 32:
        return (gpio >> 1) & 7, gpio & 1
    return 8 + ((gpio >> 1) & 3), gpio & 1


def adc_u16_for_uv(uv):
    """What read_u16 returns for ``uv`` at the pin: 12-bit conversion at 3.3 V, scaled up."""
    raw = uv * 4096 // 3300000
    raw = 0 if raw < 0 else (4095 if raw > 4095 else raw)
    return (raw << 4) | (raw >> 8)


class Bench:
    """The world around the microcontroller, scripted by tests."""

    def __init__(self):
        self.reset()

    def reset(self, reset_cause=PWRON_RESET):
        """Forget every peripheral and chip: a fresh board on a fresh bench."""
        self.levels = [0] * NUM_GPIO  # logic level of each GPIO
        self.owner = [None] * NUM_GPIO  # peripheral that claimed each GPIO
        self.irq = [None] * NUM_GPIO  # (handler, trigger, Pin) per GPIO
        self.chip_at = {}  # chip-select GPIO -> (bus id, model)
        self.selected = [None, None]  # model selected on SPI0, SPI1
        self.spi = [None, None]  # SPI objects by bus id
        self.adc_u16 = [0] * NUM_GPIO  # what ADC.read_u16 returns per GPIO
        self.pwm = {}  # GPIO -> PWM
        self.uart = {}  # id -> UART
        self.uart_overruns = [0, 0]  # bytes dropped because a UART rx buffer was full
        self.timers = []  # every Timer created
        self.wdt = None  # the WDT, once started
        self.reset_cause = reset_cause
        self.idle_calls = 0
        self.fire_timers_on_idle = False  # idle(): each running timer fires once
        self.irq_disabled = 0  # disable_irq() nesting depth
        self.watchers = []  # callables(gpio) after a level change (PIO state machines)

    # -- pins ---------------------------------------------------------------
    def claim(self, gpio, who):
        have = self.owner[gpio]
        if have is not None and have != who:
            raise ValueError("GP%d already used as %s, cannot also be %s" % (gpio, have, who))
        self.owner[gpio] = who

    def drive(self, gpio, level):
        """Set a GPIO's level (from a Pin output or from outside); run what it triggers."""
        old = self.levels[gpio]
        if old == level:
            return
        self.levels[gpio] = level
        chip = self.chip_at.get(gpio)
        if chip is not None:
            bus = chip[0]
            model = chip[1]
            if level == 0:
                if self.selected[bus] is not None:
                    raise RuntimeError("SPI%d: GP%d selects a second chip while one is selected" % (bus, gpio))
                self.selected[bus] = model
                model.select()
            elif self.selected[bus] is model:
                self.selected[bus] = None
                model.deselect()
        h = self.irq[gpio]
        if h is not None:
            if (level and h[1] & Pin.IRQ_RISING) or (not level and h[1] & Pin.IRQ_FALLING):
                h[0](h[2])
        w = self.watchers
        i = 0
        while i < len(w):
            w[i](gpio)
            i += 1

    def set_input(self, gpio, level):
        """Drive an input pin from outside the board."""
        self.drive(gpio, 1 if level else 0)

    def pulse(self, gpio, n=1):
        """``n`` positive pulses on ``gpio``, ending low."""
        for _ in range(n):
            self.drive(gpio, 1)
            self.drive(gpio, 0)

    # -- chips --------------------------------------------------------------
    def attach(self, bus, cs_gpio, model):
        """Wire ``model`` to SPI ``bus`` with chip select on ``cs_gpio`` (pulled up)."""
        self.chip_at[cs_gpio] = (bus, model)
        self.levels[cs_gpio] = 1
        return model

    def detach(self, cs_gpio):
        """Take the chip off its chip select (a dead or missing part)."""
        chip = self.chip_at.pop(cs_gpio)
        if self.selected[chip[0]] is chip[1]:
            self.selected[chip[0]] = None
        return chip[1]

    def set_adc_uv(self, gpio, uv):
        self.adc_u16[gpio] = adc_u16_for_uv(uv)

    def populate(self, pin_map):
        """Wire a model for every SPI chip in a hal.board-style pin map.

        Returns {name: model}; a gimbal entry gives "<name>_az" and "<name>_el".
        Mirror position monitors start at mid-scale (mirror centred).
        """
        chips = {}
        for name in pin_map:
            e = pin_map[name]
            kind = e[0]
            if kind == "ads1220":
                chips[name] = self.attach(e[1], e[2], ADS1220Model())
            elif kind == "dac8563":
                chips[name] = self.attach(e[1], e[2], DAC8563Model())
                self.adc_u16[e[3]] = 32768
                self.adc_u16[e[4]] = 32768
            elif kind == "frame":
                chips[name] = self.attach(e[1], e[2], BeaconFrameModel())
            elif kind == "coinc_unit":
                chips[name] = self.attach(e[1], e[2], CoincidenceUnitModel())
            elif kind == "gimbal":
                chips[name + "_az"] = self.attach(e[3], e[4], AS5047PModel())
                chips[name + "_el"] = self.attach(e[3], e[5], AS5047PModel())
        return chips

    # -- UART far end -------------------------------------------------------
    def uart_receive(self, uart_id, data):
        """Bytes arriving on a UART's RX pin; beyond its rx buffer they are dropped."""
        u = self.uart[uart_id]
        room = u._rxbuf - len(u._rx)
        if room < len(data):
            self.uart_overruns[uart_id] += len(data) - room
            data = data[:room]
        u._rx.extend(data)

    def uart_sent(self, uart_id):
        """Bytes the board wrote to a UART since the last call."""
        u = self.uart[uart_id]
        out = bytes(u._tx)
        u._tx = bytearray()
        return out

    # -- timers -------------------------------------------------------------
    def fire(self, timer):
        """The timer's interrupt: run its callback once (if it is running)."""
        if timer.running and timer.callback is not None:
            if timer.mode == Timer.ONE_SHOT:
                timer.running = False
            timer.callback(timer)

    def running_timers(self):
        return [t for t in self.timers if t.running]


bench = Bench()


# -- Pin ------------------------------------------------------------------------


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    ALT_SPI = 1
    ALT_UART = 2
    ALT_PWM = 4
    ALT_SIO = 5
    ALT_GPCK = 8
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        self._id = _gpio_of(id)
        self._mode = -1
        self._pull = -1
        self.init(mode, pull, value=value, drive=drive, alt=alt)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        if mode != -1:
            bench.claim(self._id, "GPIO")
            self._mode = mode
        if pull != -1:
            self._pull = pull
            if self._mode == Pin.IN and pull == Pin.PULL_UP:
                bench.levels[self._id] = 1  # nothing drives it yet
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            return bench.levels[self._id]
        bench.drive(self._id, 1 if x else 0)
        return None

    def __call__(self, x=None):
        if x is None:
            return bench.levels[self._id]
        bench.drive(self._id, 1 if x else 0)
        return None

    def on(self):
        bench.drive(self._id, 1)

    def off(self):
        bench.drive(self._id, 0)

    def high(self):
        bench.drive(self._id, 1)

    def low(self):
        bench.drive(self._id, 0)

    def toggle(self):
        bench.drive(self._id, 1 - bench.levels[self._id])

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, *, priority=1, wake=None, hard=False):
        bench.irq[self._id] = None if handler is None else (handler, trigger, self)
        return handler

    def mode(self, mode=None):
        if mode is None:
            return self._mode
        self._mode = mode
        return None

    def pull(self, pull=None):
        if pull is None:
            return self._pull
        self._pull = pull
        return None

    def __repr__(self):
        return "Pin(GPIO%d)" % self._id


# -- SPI ------------------------------------------------------------------------


class SPI:
    LSB = 0
    MSB = 1

    def __init__(self, id, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=MSB,
                 sck=None, mosi=None, miso=None):
        if id not in _SPI_PINS:
            raise ValueError("SPI(%r) doesn't exist" % (id,))
        self._id = id
        self.init(baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit,
                  sck=sck, mosi=mosi, miso=miso)

    def init(self, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=MSB,
             sck=None, mosi=None, miso=None):
        names = ("SCK", "TX", "RX")
        pins = (sck, mosi, miso)
        for i in range(3):
            if pins[i] is not None:
                g = _gpio_of(pins[i])
                if g not in _SPI_PINS[self._id][i]:
                    raise ValueError("bad %s pin GP%d for SPI%d" % (names[i], g, self._id))
                bench.claim(g, "SPI%d %s" % (self._id, names[i]))
        if bits != 8 or firstbit != SPI.MSB:
            raise ValueError("fake SPI models 8-bit MSB-first transfers only")
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase
        bench.spi[self._id] = self

    def deinit(self):
        bench.spi[self._id] = None

    def _chip(self):
        chip = bench.selected[self._id]
        if chip is not None:
            chip.check_bus(self)
        return chip

    def write(self, buf):
        chip = self._chip()
        n = len(buf)
        i = 0
        while i < n:
            if chip is not None:
                chip.exchange(buf[i])
            i += 1
        return None

    def readinto(self, buf, write=0x00):
        chip = self._chip()
        n = len(buf)
        i = 0
        while i < n:
            buf[i] = chip.exchange(write) if chip is not None else 0xFF
            i += 1
        return None

    def write_readinto(self, write_buf, read_buf):
        if len(write_buf) != len(read_buf):
            raise ValueError("buffers must be the same length")
        chip = self._chip()
        n = len(write_buf)
        i = 0
        while i < n:
            read_buf[i] = chip.exchange(write_buf[i]) if chip is not None else 0xFF
            i += 1
        return None

    def read(self, nbytes, write=0x00):
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)


# -- ADC ------------------------------------------------------------------------


class ADC:
    def __init__(self, pin, *, atten=0):
        if isinstance(pin, Pin):
            gpio = pin._id
        elif isinstance(pin, int) and 0 <= pin < 8:
            gpio = _ADC_GPIO0 + pin
        else:
            raise ValueError("invalid ADC source %r" % (pin,))
        if gpio < _ADC_GPIO0:
            raise ValueError("GP%d has no ADC input (RP2350B: GP40-GP47)" % gpio)
        bench.claim(gpio, "ADC")
        self._gpio = gpio

    def read_u16(self):
        return bench.adc_u16[self._gpio]


# -- PWM ------------------------------------------------------------------------


class PWM:
    def __init__(self, dest, *, freq=None, duty_u16=None, duty_ns=None):
        gpio = _gpio_of(dest)
        sl = _pwm_slice(gpio)
        for other in bench.pwm:
            if other != gpio and _pwm_slice(other) == sl:
                raise ValueError("GP%d and GP%d are both PWM%d %s" % (gpio, other, sl[0], "AB"[sl[1]]))
        bench.claim(gpio, "PWM")
        self._gpio = gpio
        self._slice = sl[0]
        self._freq = 0
        self._duty = 0
        bench.pwm[gpio] = self
        self.init(freq=freq, duty_u16=duty_u16, duty_ns=duty_ns)

    def init(self, *, freq=None, duty_u16=None, duty_ns=None):
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)
        if duty_ns is not None:
            raise ValueError("fake PWM: duty_ns not modelled")

    def freq(self, value=None):
        if value is None:
            return self._freq
        if value < _PWM_FREQ_MIN or value > SYS_FREQ_HZ // 2:
            raise ValueError("freq %d Hz out of range" % value)
        for g in bench.pwm:
            p = bench.pwm[g]
            if p is not self and p._slice == self._slice and p._freq and p._freq != value:
                raise ValueError("PWM%d shared by GP%d at %d Hz: cannot run GP%d at %d Hz"
                                 % (self._slice, g, p._freq, self._gpio, value))
        self._freq = value
        return None

    def duty_u16(self, value=None):
        if value is None:
            return self._duty
        if value < 0 or value > 0xFFFF:
            raise ValueError("duty_u16 %d outside 0..65535" % value)
        self._duty = value
        return None

    def deinit(self):
        bench.pwm.pop(self._gpio, None)


# -- Timer ------------------------------------------------------------------------


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, *, mode=PERIODIC, period=None, freq=None, tick_hz=None, callback=None, hard=None):
        self._id = id
        self.running = False  # fake state, read by tests
        self.mode = mode
        self.callback = None
        self.freq_hz = 0  # interrupt rate (Hz) as configured
        self.hard = None  # hard interrupt requested
        bench.timers.append(self)
        if period is not None or freq is not None:
            self.init(mode=mode, period=period, freq=freq, tick_hz=tick_hz, callback=callback, hard=hard)

    def init(self, *, mode=PERIODIC, period=None, freq=None, tick_hz=None, callback=None, hard=None):
        if freq is not None:
            if freq <= 0:
                raise ValueError("freq must be > 0")
            self.freq_hz = freq
        elif period is not None:
            hz = 1000 if tick_hz is None else tick_hz
            self.freq_hz = hz // period
        else:
            raise ValueError("Timer needs freq or period")
        self.mode = mode
        self.callback = callback
        self.hard = hard
        self.running = True

    def deinit(self):
        self.running = False


# -- WDT ------------------------------------------------------------------------


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        if timeout < 1 or timeout > _WDT_MAX_MS:
            raise ValueError("WDT timeout %d ms outside 1..%d" % (timeout, _WDT_MAX_MS))
        self.timeout_ms = timeout
        self.feeds = 0
        bench.wdt = self

    def feed(self):
        self.feeds += 1


# -- UART ------------------------------------------------------------------------


class UART:
    INV_TX = 1
    INV_RX = 2
    CTS = 1
    RTS = 2
    IRQ_TXIDLE = 32
    IRQ_RXIDLE = 64
    IRQ_BREAK = 512

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, *, tx=None, rx=None,
                 txbuf=None, rxbuf=None, timeout=None, timeout_char=None, invert=None):
        if id not in _UART_PINS:
            raise ValueError("UART(%r) doesn't exist" % (id,))
        self._id = id
        self._rx = bytearray()
        self._tx = bytearray()
        self._rxbuf = 256
        self.init(baudrate, bits, parity, stop, tx=tx, rx=rx, txbuf=txbuf, rxbuf=rxbuf,
                  timeout=timeout, timeout_char=timeout_char, invert=invert)
        bench.uart[id] = self

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, *, tx=None, rx=None,
             txbuf=None, rxbuf=None, timeout=None, timeout_char=None, invert=None):
        for i, p, name in ((0, tx, "TX"), (1, rx, "RX")):
            if p is not None:
                g = _gpio_of(p)
                if g not in _UART_PINS[self._id][i]:
                    raise ValueError("bad %s pin GP%d for UART%d" % (name, g, self._id))
                bench.claim(g, "UART%d %s" % (self._id, name))
        self.baudrate = baudrate
        if rxbuf is not None:
            self._rxbuf = rxbuf
        self.timeout = 0 if timeout is None else timeout

    def deinit(self):
        pass

    def any(self):
        return len(self._rx)

    def read(self, nbytes=-1):
        if not self._rx:
            return None
        n = len(self._rx) if nbytes < 0 else min(nbytes, len(self._rx))
        out = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return out

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        n = min(n, len(self._rx))
        if n == 0:
            return None
        buf[:n] = self._rx[:n]
        self._rx = self._rx[n:]
        return n

    def readline(self):
        i = self._rx.find(b"\n")
        if i < 0:
            return None
        out = bytes(self._rx[:i + 1])
        self._rx = self._rx[i + 1:]
        return out

    def write(self, buf):
        self._tx.extend(buf)
        return len(buf)

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass


# -- module functions ---------------------------------------------------------------


def reset_cause():
    return bench.reset_cause


def idle():
    bench.idle_calls += 1
    if bench.fire_timers_on_idle:
        for t in bench.running_timers():
            bench.fire(t)


def freq(hz=None):
    if hz is None:
        return SYS_FREQ_HZ
    raise ValueError("fake machine: the system clock stays at %d Hz" % SYS_FREQ_HZ)


def disable_irq():
    bench.irq_disabled += 1
    return bench.irq_disabled - 1


def enable_irq(state):
    bench.irq_disabled = state


def reset():
    raise SystemExit("machine.reset() on the fake bench")


def soft_reset():
    raise SystemExit("machine.soft_reset() on the fake bench")


# -- chip models ---------------------------------------------------------------------


def crc8_bitwise(data, n):
    """CRC-8/SMBUS (poly 0x07, init 0) bit by bit: the model's own, table-free."""
    c = 0
    i = 0
    while i < n:
        c ^= data[i]
        k = 0
        while k < 8:
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
            k += 1
        i += 1
    return c


def parity16(w):
    w ^= w >> 8
    w ^= w >> 4
    w ^= w >> 2
    w ^= w >> 1
    return w & 1


class SpiChipModel:
    """A chip on a fake SPI bus: ``exchange(byte) -> byte`` while selected."""

    name = "chip"
    polarity = 0
    phase = 1
    max_baud = 1000000

    def check_bus(self, spi):
        if spi.polarity != self.polarity or spi.phase != self.phase:
            raise RuntimeError("%s needs SPI mode %d, bus is in mode %d"
                               % (self.name, self.polarity * 2 + self.phase, spi.polarity * 2 + spi.phase))
        if spi.baudrate > self.max_baud:
            raise RuntimeError("%s: SPI clock %d Hz above its %d Hz" % (self.name, spi.baudrate, self.max_baud))

    def select(self):
        pass

    def deselect(self):
        pass

    def exchange(self, byte):
        return 0xFF


class ADS1220Model(SpiChipModel):
    """TI ADS1220: commands RESET, START/SYNC, POWERDOWN, RDATA, RREG, WREG;
    four configuration registers; the conversion result is ``code`` (signed
    24-bit), scripted by the test and returned once conversions run."""

    name = "ADS1220"
    max_baud = 6000000

    def __init__(self):
        self.regs = bytearray(4)  # configuration registers 0..3
        self.code = 0  # conversion result (signed 24-bit)
        self.converting = False
        self.resets = 0
        self.rdata_reads = 0
        self.fail_probes = 0  # RREG answers to corrupt (a marginal chip)
        self._out = bytearray(4)  # bytes queued on DOUT
        self._out_n = 0
        self._out_i = 0
        self._wreg_at = 0  # next register WREG writes
        self._wreg_left = 0  # register bytes WREG still expects

    def select(self):
        self._out_n = 0
        self._out_i = 0
        self._wreg_left = 0

    def exchange(self, byte):
        if self._out_i < self._out_n:  # shifting data out: DIN is don't-care
            r = self._out[self._out_i]
            self._out_i += 1
            return r
        if self._wreg_left:
            if self._wreg_at < 4:
                self.regs[self._wreg_at] = byte
            self._wreg_at += 1
            self._wreg_left -= 1
            return 0xFF
        if byte & 0xFE == 0x06:
            self.regs[0] = self.regs[1] = self.regs[2] = self.regs[3] = 0
            self.converting = False
            self.resets += 1
        elif byte & 0xFE == 0x08:
            self.converting = True
        elif byte & 0xFE == 0x02:
            self.converting = False
        elif byte & 0xF0 == 0x10:
            c = self.code if self.converting else 0
            self._out[0] = (c >> 16) & 0xFF
            self._out[1] = (c >> 8) & 0xFF
            self._out[2] = c & 0xFF
            self._out_n = 3
            self._out_i = 0
            self.rdata_reads += 1
        elif byte & 0xF0 == 0x20:
            first = (byte >> 2) & 3
            count = (byte & 3) + 1
            i = 0
            while i < count:
                r = first + i
                self._out[i] = self.regs[r] if r < 4 else 0
                if self.fail_probes:
                    self._out[i] = 0xFF
                i += 1
            if self.fail_probes:
                self.fail_probes -= 1
            self._out_n = count
            self._out_i = 0
        elif byte & 0xF0 == 0x40:
            self._wreg_at = (byte >> 2) & 3
            self._wreg_left = (byte & 3) + 1
        return 0xFF


class DAC8563Model(SpiChipModel):
    """TI DAC8563: 24-bit frames latched on /SYNC rising; input and DAC
    registers per channel; power-on and reset at mid-scale; no SDO."""

    name = "DAC8563"
    max_baud = 50000000

    def __init__(self):
        self.input = [32768, 32768]  # input registers A, B
        self.output = [32768, 32768]  # DAC registers A, B (what the outputs show)
        self.reference_on = False
        self.frames = 0  # valid frames latched
        self.bad_frames = 0  # /SYNC rose after other than 24 bits
        self.updates = 0  # times the outputs changed together or singly
        self._sr = 0
        self._bits = 0

    def select(self):
        self._sr = 0
        self._bits = 0

    def exchange(self, byte):
        self._sr = ((self._sr & 0xFFFF) << 8) | byte
        self._bits += 8
        return 0xFF  # no SDO: MISO floats high

    def deselect(self):
        if self._bits != 24:
            self.bad_frames += 1
            return
        self.frames += 1
        f = self._sr
        cmd = (f >> 19) & 7
        addr = (f >> 16) & 7
        data = f & 0xFFFF
        if cmd == 0:
            self._write(addr, data)
        elif cmd == 1:
            self._update(addr)
        elif cmd == 2:
            self._write(addr, data)
            self._update(7)
        elif cmd == 3:
            self._write(addr, data)
            self._update(addr)
        elif cmd == 5:
            self.input[0] = self.input[1] = 32768
            self.output[0] = self.output[1] = 32768
            self.reference_on = False
        elif cmd == 7:
            self.reference_on = bool(data & 1)

    def _write(self, addr, data):
        if addr == 0 or addr == 7:
            self.input[0] = data
        if addr == 1 or addr == 7:
            self.input[1] = data

    def _update(self, addr):
        if addr == 0 or addr == 7:
            self.output[0] = self.input[0]
        if addr == 1 or addr == 7:
            self.output[1] = self.input[1]
        self.updates += 1


class AS5047PModel(SpiChipModel):
    """ams AS5047P: 16-bit frames, answer in the next frame, even parity, EF on
    a bad command; ANGLECOM/ANGLEUNC give ``angle``, DIAAGC ``diaagc``."""

    name = "AS5047P"
    max_baud = 10000000

    def __init__(self):
        self.angle = 0  # 0..16383
        self.diaagc = 0x0100  # LF: offset loops finished, magnet in range
        self.frames = 0
        self._resp = 0xC000  # answer clocked out in the next frame (NOP, parity ok)
        self._cmd = 0
        self._n = 0
        self._ef = 0

    def select(self):
        self._cmd = 0
        self._n = 0

    def exchange(self, byte):
        r = (self._resp >> 8) if self._n == 0 else (self._resp & 0xFF)
        self._cmd = ((self._cmd & 0xFF) << 8) | byte
        self._n += 1
        return r

    def deselect(self):
        self.frames += 1
        cmd = self._cmd
        if self._n != 2 or parity16(cmd):
            self._ef = 1
            data = 0
        else:
            addr = cmd & 0x3FFF
            if not cmd & 0x4000:
                data = 0  # writes are not modelled
            elif addr == 0x3FFF or addr == 0x3FFE:
                data = self.angle & 0x3FFF
            elif addr == 0x3FFC:
                data = self.diaagc
            elif addr == 0x0001:
                data = 4 if self._ef else 0  # ERRFL bit 2: parity error
                self._ef = 0
            else:
                data = 0
        resp = data | (self._ef << 14)
        self._resp = resp | (parity16(resp) << 15)


class BeaconFrameModel(SpiChipModel):
    """Beacon sensor electronics: answers each read with the latest 16-byte frame
    (layout in hal.board.SpiBeaconSensor).  ``publish()`` makes a new frame;
    with ``auto`` set every read sees a new exposure of the same offsets."""

    name = "beacon sensor"
    max_baud = 20000000

    def __init__(self):
        self.frame = bytearray(16)
        self.seq = 0  # wire sequence of the current frame
        self.x_nrad = 0
        self.y_nrad = 0
        self.seen = False
        self.signal = 0
        self.auto = False
        self.reads = 0
        self._i = 0
        self._build()

    def publish(self, x_nrad, y_nrad, seen=True, signal=1000):
        self.x_nrad = x_nrad
        self.y_nrad = y_nrad
        self.seen = seen
        self.signal = signal
        self.seq = (self.seq + 1) & 0xFFFF
        self._build()

    def _build(self):
        f = self.frame
        f[0] = 0xA5
        f[1] = 1 if self.seen else 0
        f[2] = self.seq >> 8
        f[3] = self.seq & 0xFF
        self._put_i32(4, self.x_nrad)
        self._put_i32(8, self.y_nrad)
        f[12] = (self.signal >> 8) & 0xFF
        f[13] = self.signal & 0xFF
        f[14] = 0
        f[15] = crc8_bitwise(f, 15)

    def _put_i32(self, at, v):
        f = self.frame
        f[at + 3] = v & 0xFF
        v >>= 8
        f[at + 2] = v & 0xFF
        v >>= 8
        f[at + 1] = v & 0xFF
        v >>= 8
        f[at] = v & 0xFF

    def select(self):
        self._i = 0
        self.reads += 1
        if self.auto:
            self.seq = (self.seq + 1) & 0xFFFF
            self._build()

    def exchange(self, byte):
        i = self._i
        self._i = i + 1
        return self.frame[i] if i < 16 else 0x00


class CoincidenceUnitModel(SpiChipModel):
    """The payload's coincidence unit (FPGA/CPLD, interface in hal.coincidence_unit):
    eight free-running 32-bit counters; READ_ID (0x9F) answers "QCU" + version 1,
    LATCH_READ (0x4C) copies all eight at once and shifts them out big-endian.
    Tests set ``counters`` (or ``add``); ``fail_probes`` corrupts that many ID reads."""

    name = "coincidence unit"
    max_baud = 10000000

    def __init__(self):
        self.counters = [0] * 8  # free-running, wrap at 2**32
        self.latched = bytearray(32)  # shadow register of the last LATCH_READ
        self.latches = 0
        self.id_reads = 0
        self.fail_probes = 0
        self._id = bytearray(b"QCU\x01")
        self._out = self._id  # what the answer octets shift out
        self._n = 0
        self._i = 0
        self._first = True

    def add(self, channel, events):
        self.counters[channel] = (self.counters[channel] + events) & 0xFFFFFFFF

    def select(self):
        self._first = True
        self._n = 0
        self._i = 0

    def exchange(self, byte):
        if self._first:
            self._first = False
            if byte == 0x9F:
                self.id_reads += 1
                self._out = self._id
                self._n = 4
                if self.fail_probes:
                    self.fail_probes -= 1
                    self._n = 0  # answers like an absent chip: 0xFF
            elif byte == 0x4C:
                self._latch()
                self._out = self.latched
                self._n = 32
            return 0x00
        i = self._i
        self._i = i + 1
        if i < self._n:
            return self._out[i]
        return 0xFF

    def _latch(self):
        f = self.latched
        k = 0
        while k < 8:
            v = self.counters[k]
            j = k * 4
            f[j] = (v >> 24) & 0xFF
            f[j + 1] = (v >> 16) & 0xFF
            f[j + 2] = (v >> 8) & 0xFF
            f[j + 3] = v & 0xFF
            k += 1
        self.latches += 1


# -- CPython: MicroPython's tick functions on ``time`` ---------------------------------

if not hasattr(time, "ticks_us"):
    _TICKS_MASK = 0x3FFFFFFF
    _T0_NS = time.monotonic_ns()

    def _ticks_us():
        return ((time.monotonic_ns() - _T0_NS) // 1000) & _TICKS_MASK

    def _ticks_ms():
        return ((time.monotonic_ns() - _T0_NS) // 1000000) & _TICKS_MASK

    def _ticks_diff(end, start):
        return ((end - start + 0x20000000) & _TICKS_MASK) - 0x20000000

    def _ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MASK

    def _sleep_us(us):
        time.sleep(us / 1e6)

    def _sleep_ms(ms):
        time.sleep(ms / 1e3)

    time.ticks_us = _ticks_us
    time.ticks_ms = _ticks_ms
    time.ticks_diff = _ticks_diff
    time.ticks_add = _ticks_add
    time.sleep_us = _sleep_us
    time.sleep_ms = _sleep_ms
