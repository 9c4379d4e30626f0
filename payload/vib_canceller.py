"""Micro-vibration canceller for the fine pointing loop (MicroPython subset, fixed point).

The fine loop reconstructs the line-of-sight disturbance from each sensor frame,
``d = measured offset + mirror position at exposure``, which does not depend on
what the controller did; this module estimates the periodic part of ``d`` and
predicts it one actuation delay ahead, so the mirror can cancel it before the
feedback loop would see it.

Reaction wheels (tachometer-referenced, adaptive feed-forward):
    each wheel's disturbance is periodic in the wheel's rotation phase ``theta``:
    ``D(theta) = sum_h a_h cos(h theta) + b_h sin(h theta)`` for harmonics 1..3.
    The weights adapt by LMS on the residual ``r = d - estimate`` (equation error:
    no secondary-path model is needed because ``d`` is reconstructed, not the
    loop error).  One wheel (its three harmonics) or the tone is updated per
    step, in rotation, so each every 4 ms; the step starts at ``mu = 1/32`` per
    update (time constant about 0.25 s) and gears down to 1/512 over 8 s: the
    broadband disturbance near the tone frequencies leaks into the weights in
    proportion to ``sqrt(mu)``, and the couplings do not change.  Every 40 ms
    (``refresh()`` from the coarse group) the weights of one wheel and axis are
    turned into a 64-entry waveform table, which the 1 kHz step reads with
    linear interpolation: one look-up per wheel instead of a sine per harmonic.

Untracked tone (adaptive notch that finds its own frequency):
    a numerically controlled oscillator at ``f_hat`` with its own LMS weights.
    SEARCH records 512 samples of the residual (after the wheels' estimate)
    and, four bins per ``refresh()``, computes its DFT over ``search_lo..search_hi``
    Hz in integers; the strongest bin, if it stands ``TONE_SNR`` times above the
    band's mean and the next record finds it again (else it looks again),
    refined by a parabola through its neighbours, starts the oscillator (about
    3 s after the first frame; the wheels' estimate has 1.5 s to settle first,
    or their residue would pass for a tone).  LOCK
    trims ``f_hat`` by the rotation rate of the weight vector (a frequency
    error turns the weights at the difference frequency); a lock whose weights
    stay below 0.2 urad for about 5 s returns to SEARCH.  The search records only
    contiguous frames (a missing one starts the record again).  The frequency is
    kept across losses of lock: a cryocooler does not change its drive.

Angles are nrad, phases Q16 of a revolution, sines Q12, weights Q4 nrad.  Every
product stays a MicroPython small int: residuals are clamped to +/-100 urad
(x 4096 < 2**30), weights to +/-50 urad (multiplied as nrad), table values to
+/-1 mrad.  ``step()`` allocates nothing.
"""

import math
from array import array

from bus.compat import const

N_WHEELS = const(3)
N_HARM = const(3)
TABLE_BITS = const(6)
TABLE_N = const(64)
SIN_N = const(256)
R_LIMIT = const(100000)  # nrad: residual clamp (keeps r * Q12 sine a small int)
W_LIMIT_Q4 = const(800000)  # weights clamped to +/- 50 urad (Q4)
US_PER_Q16_MHZ = const(15259)  # 1e9 / 65536: f_mhz * d_us // this = phase change in Q16 rev
HP_SHIFT = const(9)  # residual high-pass: corner fs / (2 pi 512) = 0.3 Hz
MU_SHIFT = const(13)  # first LMS step: mu = 1/32 per update at 250 updates/s (0.25 s time constant)
MU_SHIFT_SLOW = const(17)  # one step slower every 2,048 frames: mu = 1/512 (4 s) after 8 s  # Q4 weight += (r * sinQ12) >> 13: mu = 1/32 per update
# cryocooler-class tone search (Hz, as Q16 rev per step at 1 kHz: f * 65.536)
SEARCH = const(0)
LOCK = const(1)
TRIM_DIV = const(8)  # frequency trim: an 8th of the measured error each 60 ms (0.5 s time constant)
TONE_MIN_MAG = const(4800)  # ... and be at least ~0.3 urad in amplitude (|re| + |im| ~ 16 per nrad)
TONE_SNR = const(6)
TONE_KEEP_Q4 = const(3200)  # |a| + |b| of the tone's weights below 0.2 urad (Q4) ...
TONE_FAINT_ROUNDS = const(20)  # ... for 20 trims (about 5 s): unlock and search again  # a tone's DFT magnitude must exceed this many times the band's mean
BUF_N = const(512)  # residual samples the tone search transforms (about 2 Hz bins at 1 kHz)
BINS_PER_CALL = const(4)  # DFT bins per refresh(): the 26 of 30-80 Hz in 0.26 s at 25 Hz
SEARCH_AFTER = const(1500)  # frames before the search records: the wheels' estimate settles first

# sine table, Q12, SIN_N entries over one revolution (built once at import)
SIN_Q12 = array("h", [int(round(4096 * math.sin(2 * math.pi * i / SIN_N))) for i in range(SIN_N)])


def _sin(phase_q16):
    return SIN_Q12[(phase_q16 >> 8) & 0xFF]


def _cos(phase_q16):
    return SIN_Q12[((phase_q16 >> 8) + 64) & 0xFF]


def _clamp_w(w):
    return W_LIMIT_Q4 if w > W_LIMIT_Q4 else (-W_LIMIT_Q4 if w < -W_LIMIT_Q4 else w)


class WheelPhases:
    """The three wheel tachometers, read once per fine step for every beam's canceller."""

    def __init__(self, tachometers):
        self._tachs = tachometers
        self._buf = array("i", [0, 0])
        self.freq_mhz = array("i", [0] * N_WHEELS)
        self.phase_q16 = array("i", [0] * N_WHEELS)

    def step(self):
        b = self._buf
        for w in range(N_WHEELS):
            self._tachs[w].read_into(b)
            self.freq_mhz[w] = b[0]
            self.phase_q16[w] = b[1] & 0xFFFF


class VibrationCanceller:
    def __init__(self, wheels, fs_hz=1000, sense_delay_us=1000, advance_us=900,
                 search_lo_hz=30, search_hi_hz=80, refresh_period_ms=40):
        self.wheels = wheels  # WheelPhases
        self.fs_hz = fs_hz
        self.sense_delay_us = sense_delay_us  # frame exposure centre before the step that reads it
        self.advance_us = advance_us  # from this step to when the mirror acts on its command
        self.refresh_period_ms = refresh_period_ms  # how often refresh() is called
        n = N_WHEELS * N_HARM
        self._wa = array("i", [0] * (2 * n))  # Q4 weights, cos part: x then y
        self._wb = array("i", [0] * (2 * n))  # sin part
        self._tab = array("i", [0] * (2 * N_WHEELS * TABLE_N))  # [axis][wheel][64] nrad
        self._slot = 0  # LMS rotation: wheel 0, 1, 2, then the tone
        self._low_x = 0  # slow part of d, Q4 nrad (the high-pass's low-pass)
        self._low_y = 0
        self._gap = 1000  # steps since the last frame (capped)
        self._dirty = False  # weights changed since the refresh round began
        self._dirty_round = False  # ... during the previous round (rebuild this round's tables)
        self._refresh_slot = 0
        self.mu_shift = MU_SHIFT
        self._rounds = 0
        # untracked tone: SEARCH fills a buffer of the residual (x axis), then scans it one DFT bin
        # per refresh; LOCK runs the oscillator at the best bin and trims it
        self.tone_state = SEARCH
        self._buf = array("h", [0] * BUF_N)  # residual, units of 64 nrad
        self._buf_n = 0
        self._bin = 0  # next DFT bin to scan (bins of fs / BUF_N)
        self._bin_lo = search_lo_hz * BUF_N // fs_hz
        self._bin_hi = search_hi_hz * BUF_N // fs_hz
        self._mags = array("i", [0] * (self._bin_hi - self._bin_lo + 1))
        self.tone_f_q24 = 0  # NCO frequency, Q24 rev per step (0 until found)
        self.tone_phase_q24 = 0
        self._ta = array("i", [0, 0])  # Q4 weights x, y (cos)
        self._tb = array("i", [0, 0])  # (sin)
        self._prev = [0.0, 0.0]  # weight-vector angle per axis at the last frequency trim
        self.searches = 0  # tone records that did not (yet) give a confirmed line
        self._cand = -1  # the line the last record found (bin index), confirmed by the next
        self._faint = 0  # consecutive trims with the tone's weights below TONE_KEEP
        self.wheels_on = True
        self.tone_on = True
        self.ff_x_nrad = 0  # feed-forward to add to the mirror command this step
        self.ff_y_nrad = 0
        self.est_x_nrad = 0  # periodic estimate at the exposure of this frame
        self.est_y_nrad = 0

    @property
    def tone_mhz(self):
        """The locked tone's frequency in mHz (0 while searching)."""
        if self.tone_state != LOCK:
            return 0
        return (self.tone_f_q24 >> 4) * (self.fs_hz * 1000 // 16) >> 16  # Q24 rev/step x fs

    @property
    def tone_hz(self):
        return self.tone_f_q24 * self.fs_hz / 16777216

    def reset(self):
        for i in range(len(self._wa)):
            self._wa[i] = 0
            self._wb[i] = 0
        for i in range(len(self._tab)):
            self._tab[i] = 0
        for i in range(2):
            self._ta[i] = 0
            self._tb[i] = 0
        self.tone_state = SEARCH
        self.tone_f_q24 = 0
        self._buf_n = 0
        self._bin = 0
        self._cand = -1
        self.mu_shift = MU_SHIFT
        self._rounds = 0

    def _lookup(self, axis, w, phase_q16):
        base = (axis * N_WHEELS + w) * TABLE_N
        i = (phase_q16 >> 10) & 63
        frac = phase_q16 & 1023
        t = self._tab
        v0 = t[base + i]
        return v0 + (((t[base + ((i + 1) & 63)] - v0) * frac) >> 10)

    def coast(self):
        """A step without a frame: keep predicting (the wheels and the tone go on)."""
        self._predict()

    def gap(self):
        """A step without a frame: the tone search's record must be contiguous, start it again."""
        if self.tone_state == SEARCH and self._buf_n < BUF_N:
            self._buf_n = 0
        if self._gap < 1000:
            self._gap += 1

    def _predict(self):
        """Advance the tone's oscillator; estimate at the frame's exposure and at actuation."""
        wh = self.wheels
        fr = wh.freq_mhz
        ph = wh.phase_q16
        dly = self.sense_delay_us
        adv = self.advance_us
        ex = 0
        ey = 0
        fx = 0
        fy = 0
        if self.wheels_on:
            for w in range(N_WHEELS):
                # phase change over d us in Q16 rev: f_mhz * d * 65536 / 1e9
                f = fr[w]
                p_exp = ph[w] - f * dly // US_PER_Q16_MHZ
                p_out = ph[w] + f * adv // US_PER_Q16_MHZ
                ex += self._lookup(0, w, p_exp)
                ey += self._lookup(1, w, p_exp)
                fx += self._lookup(0, w, p_out)
                fy += self._lookup(1, w, p_out)
        tp24 = (self.tone_phase_q24 + self.tone_f_q24) & 0xFFFFFF  # NCO advanced once per step
        self.tone_phase_q24 = tp24
        tp = tp24 >> 8
        if self.tone_on and self.tone_state == LOCK:
            ta = self._ta
            tb = self._tb
            f = self.tone_f_q24 >> 8
            pe = tp - f * dly // 1000
            po = tp + f * adv // 1000
            ce = _cos(pe)
            se = _sin(pe)
            ax = ta[0] >> 4
            bx = tb[0] >> 4
            ay = ta[1] >> 4
            by = tb[1] >> 4
            ex += (ax * ce + bx * se) >> 12
            ey += (ay * ce + by * se) >> 12
            co = _cos(po)
            so = _sin(po)
            fx += (ax * co + bx * so) >> 12
            fy += (ay * co + by * so) >> 12
        self.est_x_nrad = ex
        self.est_y_nrad = ey
        self.ff_x_nrad = fx
        self.ff_y_nrad = fy

    def step(self, dx_nrad, dy_nrad):
        """One sensor frame's reconstructed disturbance (nrad per axis); sets ff_x/ff_y."""
        self._predict()
        wh = self.wheels
        fr = wh.freq_mhz
        ph = wh.phase_q16
        dly = self.sense_delay_us
        tp = self.tone_phase_q24 >> 8
        ta = self._ta
        tb = self._tb
        ex = self.est_x_nrad
        ey = self.est_y_nrad
        # the slow part of d (the gimbal's tracking error: tens of urad below 0.3 Hz) is no business
        # of the canceller's and would kick the weights at every update: a 0.3 Hz high-pass
        # (1/512 per step; 1 deg of phase at the lowest wheel tone) takes it out of the residual
        if self._gap > 50:  # the first frame, or the first after a loss: start the high-pass bumpless
            self._low_x = dx_nrad << 4
            self._low_y = dy_nrad << 4
        self._gap = 0
        lx = self._low_x + ((dx_nrad << 4) - self._low_x >> HP_SHIFT)
        ly = self._low_y + ((dy_nrad << 4) - self._low_y >> HP_SHIFT)
        self._low_x = lx
        self._low_y = ly
        rx = dx_nrad - (lx >> 4) - ex
        ry = dy_nrad - (ly >> 4) - ey
        rx = R_LIMIT if rx > R_LIMIT else (-R_LIMIT if rx < -R_LIMIT else rx)
        ry = R_LIMIT if ry > R_LIMIT else (-R_LIMIT if ry < -R_LIMIT else ry)
        # LMS: one wheel (all its harmonics) or the tone per step, in rotation: every slot is
        # updated every 4 ms, and a wheel anywhere in 15-30 Hz turns 0.06-0.12 rev between its
        # updates, a pattern no shorter than 9 phases, so its three harmonics never alias
        # onto one another (10 ms slots would: a 20.000 Hz wheel shows only 5 phases)
        s = self._slot
        self._slot = s + 1 if s < N_WHEELS else 0
        self._dirty = True
        mu = self.mu_shift
        if s < N_WHEELS:
            if self.wheels_on:
                n = N_WHEELS * N_HARM
                f = fr[s]
                p1 = ph[s] - f * dly // US_PER_Q16_MHZ
                wa = self._wa
                wb = self._wb
                for h in range(N_HARM):
                    p = (h + 1) * p1
                    c = _cos(p)
                    sn = _sin(p)
                    j = s * N_HARM + h
                    wa[j] = _clamp_w(wa[j] + ((rx * c) >> mu))
                    wb[j] = _clamp_w(wb[j] + ((rx * sn) >> mu))
                    wa[n + j] = _clamp_w(wa[n + j] + ((ry * c) >> mu))
                    wb[n + j] = _clamp_w(wb[n + j] + ((ry * sn) >> mu))
        elif self.tone_on and self.tone_state == LOCK:
            pe = tp - (self.tone_f_q24 >> 8) * dly // 1000
            c = _cos(pe)
            sn = _sin(pe)
            # the tone keeps the fast step: its weights must follow what the frequency trim
            # has not yet removed (a residual frequency error turns them)
            ta[0] = _clamp_w(ta[0] + ((rx * c) >> MU_SHIFT))
            tb[0] = _clamp_w(tb[0] + ((rx * sn) >> MU_SHIFT))
            ta[1] = _clamp_w(ta[1] + ((ry * c) >> MU_SHIFT))
            tb[1] = _clamp_w(tb[1] + ((ry * sn) >> MU_SHIFT))
        # gear shift: fast at first, then slower and quieter (the couplings do not change)
        r = self._rounds + 1
        self._rounds = r
        if r & 2047 == 0 and self.mu_shift < MU_SHIFT_SLOW:
            self.mu_shift += 1
        if self.tone_on and self.tone_state == SEARCH and self._buf_n < BUF_N and self._rounds > SEARCH_AFTER:
            # (record only once the wheels' estimate has settled, or their residue looks like a tone)
            self._buf[self._buf_n] = rx >> 6
            self._buf_n += 1

    def refresh(self):
        """Slow path (coarse group): rebuild one waveform table; search or trim the tone."""
        k = self._refresh_slot
        self._refresh_slot = (k + 1) % (2 * N_WHEELS)
        if k == 0:
            self._dirty_round = self._dirty
            self._dirty = False
        if not self._dirty_round:  # no frame since the last round: the tables are current
            if self.tone_on and self.tone_state == SEARCH:
                self._tone_frequency()
            return
        axis = k // N_WHEELS
        w = k - axis * N_WHEELS
        n = N_WHEELS * N_HARM
        base_w = axis * n + w * N_HARM
        base_t = (axis * N_WHEELS + w) * TABLE_N
        wa = self._wa
        wb = self._wb
        t = self._tab
        for i in range(TABLE_N):
            p = i << 10
            v = 0
            for h in range(N_HARM):  # nrad weight x Q12 sine, >> 12 per term
                q = (h + 1) * p
                v += ((wa[base_w + h] >> 4) * _cos(q) + (wb[base_w + h] >> 4) * _sin(q)) >> 12
            t[base_t + i] = 1000000 if v > 1000000 else (-1000000 if v < -1000000 else v)
        if self.tone_on and (self.tone_state == SEARCH or k == 0):
            self._tone_frequency()

    def _tone_frequency(self):
        ta = self._ta
        tb = self._tb
        if self.tone_state == SEARCH:
            if self._buf_n < BUF_N:
                return
            if self._bin_lo + self._bin <= self._bin_hi:
                for _ in range(BINS_PER_CALL):  # sum r[i] e^(-j 2 pi k i / N), Q12 sines
                    k = self._bin_lo + self._bin
                    if k > self._bin_hi:
                        break
                    step = k * 65536 // BUF_N
                    re = 0
                    im = 0
                    buf = self._buf
                    p = 0
                    for i in range(BUF_N):
                        r = buf[i]
                        re += (r * _cos(p)) >> 6
                        im += (r * _sin(p)) >> 6
                        p += step
                    # |re| + |im|: a magnitude good enough to rank bins, with no square to overflow
                    self._mags[self._bin] = ((re if re >= 0 else -re) + (im if im >= 0 else -im)) >> 4
                    self._bin += 1
                return
            mags = self._mags
            best = 0
            total = 0
            for i in range(len(mags)):
                total += mags[i] >> 4
                if mags[i] > mags[best]:
                    best = i
            cand = self._cand
            self._cand = best
            if (mags[best] < TONE_MIN_MAG or (mags[best] >> 4) * len(mags) < TONE_SNR * total
                    or cand < 0 or cand - best > 1 or best - cand > 1):
                # nothing stands out, or not the same line as the last record: record again
                if mags[best] < TONE_MIN_MAG or (mags[best] >> 4) * len(mags) < TONE_SNR * total:
                    self._cand = -1
                self._buf_n = 0
                self._bin = 0
                self.searches += 1
                return
            # parabola through the neighbours (in magnitude) for a sub-bin estimate, Q8 bins
            frac_q8 = 0
            if 0 < best < len(mags) - 1:
                a = mags[best - 1]
                b = mags[best]
                c = mags[best + 1]
                den = a - 2 * b + c
                if den < 0:
                    frac_q8 = ((a - c) * 128) // den
            # bin k is k * 65536 / BUF_N in Q16 rev per step; with k in Q8 that is Q24
            self.tone_f_q24 = ((self._bin_lo + best) * 256 + frac_q8) * (65536 // BUF_N)
            self.tone_state = LOCK
            for i in range(2):
                ta[i] = 0
                tb[i] = 0
                self._prev[i] = 0.0
            return
        # LOCK: a tone that faded (or a lock on something else) returns to the search
        small = True
        for i in range(2):
            if (ta[i] if ta[i] >= 0 else -ta[i]) + (tb[i] if tb[i] >= 0 else -tb[i]) > TONE_KEEP_Q4:
                small = False
        self._faint = self._faint + 1 if small else 0
        if self._faint >= TONE_FAINT_ROUNDS:
            self._faint = 0
            self.tone_state = SEARCH
            self.tone_f_q24 = 0
            self._buf_n = 0
            self._bin = 0
            for i in range(2):
                ta[i] = 0
                tb[i] = 0
            return
        # the weight vector (a, -b) turns at (f_true - f_hat); trim f_hat by it, gently
        turn = 0.0
        wsum = 0.0
        for i in range(2):
            a = ta[i]
            b = tb[i]
            m = abs(a) + abs(b)
            if m == 0:
                continue
            ang = math.atan2(-b, a)
            d = ang - self._prev[i]
            if d > math.pi:
                d -= 2 * math.pi
            elif d < -math.pi:
                d += 2 * math.pi
            self._prev[i] = ang
            turn += d * m
            wsum += m
        if wsum > 0:
            # rad per trim period (a refresh round: 2 N_WHEELS calls, refresh_period_ms apart)
            # -> Q16 rev per step; 1/TRIM_DIV of the way: the weights are noisy (broadband near
            # the tone), and a nervous trim turns that noise into frequency wander
            period_s = 2 * N_WHEELS * self.refresh_period_ms / 1000.0
            df = turn / wsum / (2 * math.pi) * 65536 / (period_s * self.fs_hz) / TRIM_DIV
            self.tone_f_q24 += int(df * 256)
