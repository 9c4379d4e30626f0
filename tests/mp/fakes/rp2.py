"""A fake ``rp2`` module: the PIO assembler and state machines, emulated (MicroPython subset).

``asm_pio`` assembles a program the way MicroPython's does (it runs the
decorated function twice with the assembler's names as its globals, then puts
the module's globals back) into real 16-bit PIO instruction words, and
``asm_pio_encode`` encodes one instruction the same way.  ``StateMachine``
interprets those words against the fake ``machine`` module's pin levels: it
runs whenever a GPIO changes level until it stalls on a ``wait``, and
``exec()`` runs one instruction immediately, as the hardware does.

Implemented: jmp (all conditions but !OSRE), wait on gpio/pin, in, push, mov
(to/from x, y, isr, null; invert and bit-reverse), set x/y, nop, wrap,
labels.  Not implemented (raises): side-set, out, pull, irq, set pins.  The
state machine's pins must lie in GP0-GP31 (the PIO's default GPIO window).
"""

import machine

_MASK32 = 0xFFFFFFFF
_PIN = 6  # "pin": wait source 1, jmp condition 6
_NOBLOCK = 0x100  # push/pull flag sentinels
_BLOCK = 0x20
_IFFULL = 0x40
_MAX_STEPS = 256  # instructions per run before the program is declared spinning


class PIO:
    IN_LOW = 0
    IN_HIGH = 1
    OUT_LOW = 2
    OUT_HIGH = 3
    SHIFT_LEFT = 0
    SHIFT_RIGHT = 1
    JOIN_NONE = 0
    JOIN_TX = 1
    JOIN_RX = 2
    IRQ_SM0 = 256
    IRQ_SM1 = 512
    IRQ_SM2 = 1024
    IRQ_SM3 = 2048

    def __init__(self, id):
        if id < 0 or id > 2:
            raise ValueError("PIO(%d) doesn't exist" % id)
        self._id = id

    def state_machine(self, id, program=None, **kwargs):
        sm = StateMachine(self._id * 4 + id)
        if program is not None:
            sm.init(program, **kwargs)
        return sm

    def add_program(self, program):
        pass

    def remove_program(self, program=None):
        pass


class _Program:
    """What asm_pio returns: instruction words and the settings the SM needs."""

    def __init__(self, name, words, wrap_target, wrap, in_shiftdir, push_thresh, autopush):
        self.name = name
        self.words = words  # 16-bit instruction words
        self.wrap_target = wrap_target
        self.wrap = wrap  # address after which execution wraps to wrap_target
        self.in_shiftdir = in_shiftdir
        self.push_thresh = push_thresh
        self.autopush = autopush


class _Assembler:
    def __init__(self):
        self.words = []
        self.labels = {}
        self.pass_ = 0
        self.wrap_target_at = 0
        self.wrap_at = -1

    def start(self, pass_):
        self.pass_ = pass_
        self.words = []
        self.wrap_target_at = 0
        self.wrap_at = -1

    def emit(self, word):
        self.words.append(word)
        return word

    def names(self):
        a = self
        return {
            "gpio": 0, "pin": _PIN, "pins": 0, "x": 1, "y": 2, "null": 3, "pindirs": 4, "pc": 5,
            "status": 5, "isr": 6, "osr": 7,
            "invert": lambda v: v | 0x08, "reverse": lambda v: v | 0x10,
            "not_x": 1, "x_dec": 2, "not_y": 3, "y_dec": 4, "x_not_y": 5, "not_osre": 7,
            "block": _BLOCK, "noblock": _NOBLOCK, "iffull": _IFFULL,
            "wrap_target": a.wrap_target, "wrap": a.wrap, "label": a.label, "jmp": a.jmp,
            "wait": a.wait, "in_": a.in_, "push": a.push, "mov": a.mov, "set": a.set, "nop": a.nop,
            "out": a.unsupported, "pull": a.unsupported, "irq": a.unsupported, "side": a.unsupported,
        }

    def unsupported(self, *args):
        raise NotImplementedError("fake rp2: instruction not modelled")

    def wrap_target(self):
        self.wrap_target_at = len(self.words)

    def wrap(self):
        self.wrap_at = len(self.words) - 1

    def label(self, name):
        if self.pass_ == 0:
            if name in self.labels:
                raise ValueError("duplicate label %r" % name)
            self.labels[name] = len(self.words)

    def jmp(self, cond, target=None):
        if target is None:
            cond, target = 0, cond
        addr = self.labels.get(target, 0) if isinstance(target, str) else target
        if self.pass_ == 1 and isinstance(target, str) and target not in self.labels:
            raise ValueError("unknown label %r" % target)
        return self.emit((0 << 13) | (cond << 5) | addr)

    def wait(self, polarity, src, index):
        if src == _PIN:
            src = 1
        if src not in (0, 1):
            raise NotImplementedError("fake rp2: wait on irq not modelled")
        return self.emit((1 << 13) | (polarity << 7) | (src << 5) | (index & 31))

    def in_(self, src, bit_count):
        return self.emit((2 << 13) | (src << 5) | (bit_count & 31))

    def push(self, *flags):
        word = (4 << 13) | _BLOCK
        for f in flags:
            if f == _NOBLOCK:
                word &= ~_BLOCK
            elif f == _IFFULL:
                word |= _IFFULL
        return self.emit(word)

    def mov(self, dest, src):
        op = 1 if src & 0x08 else (2 if src & 0x10 else 0)
        if dest == 3:
            raise ValueError("mov: null is not a destination")
        return self.emit((5 << 13) | (dest << 5) | (op << 3) | (src & 7))

    def set(self, dest, data):
        return self.emit((7 << 13) | (dest << 5) | (data & 31))

    def nop(self):
        return self.mov(2, 2)  # mov(y, y), as the real assembler encodes nop


def asm_pio(*, out_init=None, set_init=None, sideset_init=None, in_shiftdir=0, out_shiftdir=0,
            autopush=False, autopull=False, push_thresh=32, pull_thresh=32, fifo_join=0):
    if sideset_init is not None:
        raise NotImplementedError("fake rp2: side-set not modelled")

    def dec(f):
        asm = _Assembler()
        g = f.__globals__
        saved = dict(g)
        g.clear()
        g.update(asm.names())
        try:
            for p in (0, 1):
                asm.start(p)
                f()
        finally:
            g.clear()
            g.update(saved)
        words = asm.words
        if len(words) > 32:
            raise ValueError("PIO program longer than 32 instructions")
        wrap = asm.wrap_at if asm.wrap_at >= 0 else len(words) - 1
        return _Program(f.__name__, words, asm.wrap_target_at, wrap, in_shiftdir, push_thresh, autopush)

    return dec


def asm_pio_encode(instr, sideset_count, sideset_opt=False):
    if sideset_count:
        raise NotImplementedError("fake rp2: side-set not modelled")
    asm = _Assembler()
    asm.start(1)
    word = eval(instr, asm.names())
    if not isinstance(word, int):
        raise ValueError("not one instruction: %r" % instr)
    return word


def _reverse32(v):
    r = 0
    for _ in range(32):
        r = (r << 1) | (v & 1)
        v >>= 1
    return r


class StateMachine:
    def __init__(self, id, program=None, *, freq=-1, in_base=None, out_base=None, set_base=None,
                 jmp_pin=None, sideset_base=None, in_shiftdir=None, out_shiftdir=None,
                 push_thresh=None, pull_thresh=None):
        if id < 0 or id > 11:
            raise ValueError("StateMachine(%d) doesn't exist" % id)
        self._id = id
        self._prog = None
        self._active = False
        self._watch = self._on_level  # bound once
        if program is not None:
            self.init(program, freq=freq, in_base=in_base, out_base=out_base, set_base=set_base,
                      jmp_pin=jmp_pin, sideset_base=sideset_base, in_shiftdir=in_shiftdir,
                      out_shiftdir=out_shiftdir, push_thresh=push_thresh, pull_thresh=pull_thresh)

    def init(self, program, *, freq=-1, in_base=None, out_base=None, set_base=None, jmp_pin=None,
             sideset_base=None, in_shiftdir=None, out_shiftdir=None, push_thresh=None, pull_thresh=None):
        if not isinstance(program, _Program):
            raise TypeError("program must come from rp2.asm_pio")
        if out_base is not None or set_base is not None or sideset_base is not None:
            raise NotImplementedError("fake rp2: output pins not modelled")
        if freq != -1 and (freq > machine.SYS_FREQ_HZ or freq < machine.SYS_FREQ_HZ // 65536):
            raise ValueError("freq %d Hz out of range" % freq)
        self._in_base = self._pin_no(in_base)
        self._jmp_pin = self._pin_no(jmp_pin)
        self._prog = program
        self._words = program.words
        self._wrap_target = program.wrap_target
        self._wrap = program.wrap
        self._in_left = (program.in_shiftdir if in_shiftdir is None else in_shiftdir) == PIO.SHIFT_LEFT
        self._push_thresh = program.push_thresh if push_thresh is None else push_thresh
        self._pc = 0
        self._x = 0
        self._y = 0
        self._isr = 0
        self._isr_count = 0
        self._fifo = []  # RX FIFO, at most 4 words
        self.active(0)

    @staticmethod
    def _pin_no(p):
        if p is None:
            return -1
        g = p._id if isinstance(p, machine.Pin) else p
        if g > 31:
            raise ValueError("GP%d outside the PIO's GPIO window GP0-GP31" % g)
        return g

    def active(self, value=None):
        if value is None:
            return self._active
        if value and not self._active:
            machine.bench.watchers.append(self._watch)
            self._active = True
            self._run()
        elif not value and self._active:
            w = machine.bench.watchers
            if self._watch in w:
                w.remove(self._watch)
            self._active = False
        return None

    def restart(self):
        self._pc = 0
        self._isr = 0
        self._isr_count = 0

    def rx_fifo(self):
        return len(self._fifo)

    def tx_fifo(self):
        return 0

    def put(self, value, shift=0):
        raise NotImplementedError("fake rp2: TX FIFO not modelled")

    def get(self, buf=None, shift=0):
        if not self._fifo:
            raise RuntimeError("StateMachine(%d).get(): RX FIFO empty (the real call blocks forever)" % self._id)
        v = self._fifo.pop(0) >> shift
        if buf is None:
            return v
        buf[0] = v
        return None

    def exec(self, instr):
        if isinstance(instr, str):
            instr = asm_pio_encode(instr, 0)
        self._execute(instr, True)
        if self._active:
            self._run()

    def irq(self, handler=None, trigger=0, hard=False):
        raise NotImplementedError("fake rp2: irq not modelled")

    # -- emulation ---------------------------------------------------------------
    def _on_level(self, gpio):
        if gpio != self._in_base and gpio != self._jmp_pin:
            return
        self._run()

    def _level(self, gpio):
        return machine.bench.levels[gpio]

    def _run(self):
        steps = 0
        while steps < _MAX_STEPS:
            if not self._execute(self._words[self._pc], False):
                return  # stalled
            steps += 1
        raise RuntimeError("PIO program %s spins without waiting" % self._prog.name)

    def _advance(self):
        self._pc = self._wrap_target if self._pc == self._wrap else self._pc + 1

    def _read(self, src):
        if src == 0:
            return self._level(self._in_base) if self._in_base >= 0 else 0
        if src == 1:
            return self._x
        if src == 2:
            return self._y
        if src == 3:
            return 0
        if src == 6:
            return self._isr
        raise NotImplementedError("fake rp2: source %d not modelled" % src)

    def _execute(self, word, from_exec):
        """Run one instruction; False when it stalls (the pc stays put)."""
        op = word >> 13
        if op == 0:  # JMP
            cond = (word >> 5) & 7
            addr = word & 31
            if cond == 0:
                take = True
            elif cond == 1:
                take = self._x == 0
            elif cond == 2:
                take = self._x != 0
                self._x = (self._x - 1) & _MASK32
            elif cond == 3:
                take = self._y == 0
            elif cond == 4:
                take = self._y != 0
                self._y = (self._y - 1) & _MASK32
            elif cond == 5:
                take = self._x != self._y
            elif cond == 6:
                take = self._jmp_pin >= 0 and self._level(self._jmp_pin) == 1
            else:
                raise NotImplementedError("fake rp2: jmp !osre not modelled")
            if take:
                self._pc = addr
            elif not from_exec:
                self._advance()
            return True
        if op == 1:  # WAIT
            if from_exec:
                raise NotImplementedError("fake rp2: exec of wait not modelled")
            pol = (word >> 7) & 1
            src = (word >> 5) & 3
            index = word & 31
            gpio = index if src == 0 else self._in_base + index
            if self._level(gpio) != pol:
                return False
            self._advance()
            return True
        if op == 2:  # IN
            src = (word >> 5) & 7
            n = word & 31 or 32
            v = self._read(src) & ((1 << n) - 1)
            if self._in_left:
                self._isr = ((self._isr << n) | v) & _MASK32
            else:
                self._isr = ((self._isr >> n) | (v << (32 - n))) & _MASK32
            self._isr_count = min(32, self._isr_count + n)
        elif op == 4 and not word & 0x80:  # PUSH
            if word & _IFFULL and self._isr_count < self._push_thresh:
                pass
            elif len(self._fifo) >= 4:
                if word & _BLOCK:
                    return False
                self._isr = 0  # noblock on a full FIFO: the word is lost
                self._isr_count = 0
            else:
                self._fifo.append(self._isr)
                self._isr = 0
                self._isr_count = 0
        elif op == 5:  # MOV
            dest = (word >> 5) & 7
            mop = (word >> 3) & 3
            v = self._read(word & 7)
            if mop == 1:
                v = ~v & _MASK32
            elif mop == 2:
                v = _reverse32(v)
            if dest == 1:
                self._x = v
            elif dest == 2:
                self._y = v
            elif dest == 6:
                self._isr = v
                self._isr_count = 0
            elif dest == 5:
                self._pc = v & 31
                return True
            else:
                raise NotImplementedError("fake rp2: mov destination %d not modelled" % dest)
        elif op == 7:  # SET
            dest = (word >> 5) & 7
            if dest == 1:
                self._x = word & 31
            elif dest == 2:
                self._y = word & 31
            else:
                raise NotImplementedError("fake rp2: set pins not modelled")
        else:
            raise NotImplementedError("fake rp2: opcode %d not modelled" % op)
        if not from_exec:
            self._advance()
        return True


def bootsel_button():
    return 0


class Flash:
    def __init__(self):
        raise NotImplementedError("fake rp2: Flash not modelled")

