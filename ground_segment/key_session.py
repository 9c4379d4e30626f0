"""The two stations' key across passes: sifted bits kept, distilled once the finite-key bound allows.

A Micius pass gives a few hundred sifted bits, far too few for a finite-key
bound at failure probability 1e-10; the 2020 experiment accumulated ~3,100 s
of contact over several passes before distilling its 372 bits.  So the
stations keep each pass's sifted bits (ground_segment/bbm92.py) and run error
correction, verification and privacy amplification (ground_segment/distill.py)
on all of them together.  ``ready()`` tells a run whether enough has
accumulated, judged from the stations' prior QBER (``QBER_PRIOR``) and
Cascade's efficiency (``F_PRIOR``): the measured QBER is only known once error
correction has run, and that discloses parities.

The key is refused (``aborted``) only for security: the QBER that error
correction found above ``QBER_ABORT``, an eavesdropper's mark.  Too little key
gives ``secret_bits`` 0 with the reason in ``note``.  ``secret_bits`` is the
finite-key bound (the figure the 2020 experiment published); authentication of
every classical message (one Wegman-Carter transcript over the session, sifting
included) is paid from a pre-shared pool that the distilled key refills first,
and ``net_secret_bits``, what is left, is written to the key files.
"""

import numpy as np

from ground_segment import authentication, bbm92, distill

QBER_PRIOR = 0.045  # the stations' expectation before error correction ([Yin2020])
F_PRIOR = 1.12  # Cascade's efficiency at a few thousand bits (ground_segment/cascade.py, measured)
QBER_ABORT = 0.11  # BBM92's asymptotic threshold with one-way post-processing
EPSILON = 1e-10
READY_MARGIN = 1.4  # the measured QBER and f may be worse than the priors: keep this much more than the bound needs
AUTH_SCHEME = "transcript"  # one Wegman-Carter tag per direction over the whole exchange (docs/key_distillation.md)


class KeySession:
    def __init__(self, mode: str = "key", seed: int = 1, epsilon: float = EPSILON):
        self.mode = mode
        self.seed = seed
        self.epsilon = epsilon
        self.passes = []  # bbm92.PassData per pass
        self.truths = []  # the simulator's ChannelTruth per pass (qber_truth, plots: never the key)
        self.result = None  # the key section, once distilled
        self._distilled = None  # distill.DistillResult
        self._errors = []  # per pass: bool flags of the sifted bits error correction found wrong

    def add_pass(self, pd: bbm92.PassData, truth=None) -> None:
        self.passes.append(pd)
        self.truths.append(truth)

    @property
    def sifted_bits(self) -> int:
        return int(sum(len(p.alice_bits) for p in self.passes))

    def needed_bits(self) -> int | None:
        return distill.needed_sifted_bits(QBER_PRIOR, F_PRIOR, self.epsilon)

    def ready(self) -> bool:
        need = self.needed_bits()
        return self.mode == "key" and need is not None and self.sifted_bits >= READY_MARGIN * need

    def distil(self, contact_s: float, keys_dir, station_names) -> dict:
        """Run the distillation on everything kept; write the keys; return the summary's "key" section."""
        key = {"sifted_bits": self.sifted_bits, "secret_bits": 0, "secret_rate_bps": 0.0,
               "asymptotic_rate_bps": None, "ec_efficiency": None, "finite_key_epsilon": self.epsilon,
               "passes": len(self.passes), "aborted": False, "abort_reason": None, "note": "",
               "sifted_rate_bps": round(self.sifted_bits / contact_s, 4) if contact_s > 0 else None,
               "ec_disclosed_bits": None, "auth_cost_bits": 0, "net_secret_bits": 0, "verification_ok": None,
               "key_files": []}
        notes = [p.note for p in self.passes if p.note]
        if self.mode != "key":
            key["note"] = "; ".join(["Bell-test mode: the outcomes are public, no key is distilled"] + notes)
            self.result = key
            return key
        if self.sifted_bits < 2:
            key["note"] = "; ".join(notes + [f"{self.sifted_bits} sifted bit(s): too few coincidences with matching "
                                             "settings to run error correction"])
            self.result = key
            return key
        a = np.concatenate([p.alice_bits for p in self.passes])
        b = np.concatenate([p.bob_bits for p in self.passes])
        bases = np.concatenate([p.basis for p in self.passes])
        dr = distill.distill(a, b, bases, QBER_PRIOR, self.seed, epsilon=self.epsilon, qber_abort=QBER_ABORT,
                             auth_scheme=AUTH_SCHEME)
        self._distilled = dr
        flags = np.zeros(len(a), bool)
        if getattr(dr, "corrected_positions", None) is not None:
            flags[dr.corrected_positions] = True
        start = 0
        for p in self.passes:
            self._errors.append(flags[start:start + len(p.alice_bits)])
            start += len(p.alice_bits)
        # one Wegman-Carter transcript over every classical message of the session (sifting of every pass,
        # error correction, verification), checked before the key is released: the pre-shared
        # authentication pool pays it, and is refilled from the distilled key
        messages = [m for p in self.passes for m in p.messages_bits] + list(dr.message_sizes)
        auth_cost = authentication.auth_cost_bits(messages, scheme=AUTH_SCHEME)
        gross = 0 if dr.aborted else int(dr.gross_secret_bits)  # the finite-key bound
        net = max(0, gross - auth_cost)
        # distill() already kept back its own (smaller) error-correction transcript's cost
        key_a, key_b = dr.alice_key[:net], dr.bob_key[:net]
        asym = distill.fk.asymptotic_bits(dr.sifted_bits, dr.qber, dr.ec_efficiency) if np.isfinite(
            dr.ec_efficiency) else None
        key.update({
            "qber": dr.qber, "errors": dr.errors, "ec_disclosed_bits": dr.ec_disclosed_bits,
            "ec_efficiency": None if not np.isfinite(dr.ec_efficiency) else round(dr.ec_efficiency, 4),
            "asymptotic_rate_bps": None if asym is None or contact_s <= 0 else round(asym / contact_s, 4),
            "verification_ok": dr.verification_ok, "aborted": dr.aborted, "abort_reason": dr.abort_reason or None,
            "auth_cost_bits": auth_cost, "secret_bits": gross,
            "secret_rate_bps": round(gross / contact_s, 5) if contact_s > 0 else 0.0,
            "net_secret_bits": int(len(key_a)),
        })
        if dr.aborted:
            key["note"] = f"key refused, alarm raised: {dr.abort_reason}"
        elif gross == 0:
            need = self.needed_bits()
            more = f"; at QBER {QBER_PRIOR:.3f} and f {F_PRIOR} the bound needs about {need} sifted bits" if need else ""
            key["note"] = (dr.note or "the finite-key bound is not positive") + \
                f" ({self.sifted_bits} sifted bits kept{more})"
        elif len(key_a) == 0:
            key["note"] = (f"{gross} secret bits from {self.sifted_bits} sifted, all taken to refill the "
                           f"authentication pool ({auth_cost} bits): no net key")
        else:
            keys_dir.mkdir(parents=True, exist_ok=True)
            for name, bits in zip(station_names, (key_a, key_b)):
                path = keys_dir / f"{name}.key"
                distill.write_key(path, bits)
                key["key_files"].append(str(path.relative_to(keys_dir.parent)))
            key["note"] = (f"{gross} secret bits from {self.sifted_bits} sifted over {len(self.passes)} pass(es); "
                           f"{auth_cost} refill the authentication pool, {len(key_a)} written to keys/")
        if notes:
            key["note"] += "; " + "; ".join(notes)
        self.result = key
        return key

    # -- figures for the link section ------------------------------------------------------------
    def qber(self):
        return None if self._distilled is None or not np.isfinite(self._distilled.qber) else round(
            float(self._distilled.qber), 5)

    def qber_truth(self):
        sifted = sum(t.sifted_pairs + t.expected_accidentals_sifted for t in self.truths if t is not None)
        if self.mode != "key" or sifted <= 0:
            return None
        err = sum(t.sifted_pair_errors + 0.5 * t.expected_accidentals_sifted for t in self.truths if t is not None)
        return round(err / sifted, 5)

    def chsh(self):
        if self.mode != "bell":
            return None, None
        counts = sum(p.bell_counts for p in self.passes)
        return bbm92.chsh(counts)

    def error_flags(self):
        return self._errors
