"""The ground's half of TC authentication: the key file and the frame signer.

Key file (JSON, default ``ground_keys.json`` in the working directory; created
on first use with the public laboratory keys of ``bus.sdls.lab_key``, which
match an un-keyed payload and must never fly)::

    {
      "spi": 1,                          # SPI the station signs with
      "kek": "<64 hex>",                 # key-encryption key (slot 0) for SEC_KEY_LOAD
      "keys": {"1": "<64 hex>", ...},    # HMAC-SHA256 key per SPI
      "next_sn": {"1": 1, ...},          # next anti-replay sequence number per SPI
      "next_nonce": 1                    # next key-load nonce
    }

The sequence numbers are written back after every signed frame (a restarted
station never reuses one; the on-board counters survive resets).  The file is
created with mode 0600.
"""

from __future__ import annotations

import json
import os

from bus import mdb
from bus import sdls

DEFAULT_KEY_FILE = "ground_keys.json"


class KeyFileError(ValueError):
    """The key file cannot be read or lacks what is asked of it; the message says which."""


def default_keys() -> dict:
    return {
        "spi": mdb.TC_AUTH_SPI_DEFAULT,
        "kek": sdls.lab_key(0).hex(),
        "keys": {str(s): sdls.lab_key(s).hex() for s in range(sdls.SPI_MIN, sdls.SPI_MAX + 1)},
        "next_sn": {str(s): 1 for s in range(sdls.SPI_MIN, sdls.SPI_MAX + 1)},
        "next_nonce": 1,
        "note": "laboratory keys (public, bus.sdls.lab_key): replace for flight",
    }


class GroundKeys:
    """Keys and counters of the ground station, kept in a JSON key file."""

    def __init__(self, path: str = DEFAULT_KEY_FILE, create: bool = True):
        self.path = path
        if not os.path.exists(path):
            if not create:
                raise KeyFileError(f"no key file {path}")
            self.data = default_keys()
            self.save()
            self.created = True
        else:
            try:
                with open(path) as f:
                    self.data = json.load(f)
            except (OSError, ValueError) as e:
                raise KeyFileError(f"key file {path} unreadable: {e}") from None
            self.created = False
        self.data.setdefault("next_sn", {})
        self.data.setdefault("next_nonce", 1)
        self.data.setdefault("spi", mdb.TC_AUTH_SPI_DEFAULT)

    @property
    def spi(self) -> int:
        return int(self.data["spi"])

    def key(self, spi: int) -> bytes:
        try:
            k = bytes.fromhex(self.data["keys"][str(spi)])
        except (KeyError, ValueError):
            raise KeyFileError(f"key file {self.path} has no valid key for SPI {spi}") from None
        if len(k) != sdls.KEY_LEN:
            raise KeyFileError(f"key for SPI {spi} in {self.path} is {len(k)} octets, not {sdls.KEY_LEN}")
        return k

    def kek(self) -> bytes:
        try:
            k = bytes.fromhex(self.data["kek"])
        except (KeyError, ValueError):
            raise KeyFileError(f"key file {self.path} has no valid KEK") from None
        return k

    def take_sn(self, spi: int) -> int:
        """The next sequence number of ``spi``, reserved (and saved)."""
        sn = int(self.data["next_sn"].get(str(spi), 1))
        self.data["next_sn"][str(spi)] = sn + 1
        self.save()
        return sn

    def ensure_sn_above(self, spi: int, last: int) -> bool:
        """Move the next SN of ``spi`` above ``last`` (the board's last accepted); True if it moved."""
        if int(self.data["next_sn"].get(str(spi), 1)) <= last:
            self.data["next_sn"][str(spi)] = last + 1
            self.save()
            return True
        return False

    def take_nonce(self) -> int:
        n = int(self.data["next_nonce"])
        self.data["next_nonce"] = n + 1
        self.save()
        return n

    def set_key(self, spi: int, key: bytes) -> None:
        self.data["keys"][str(spi)] = key.hex()
        self.save()

    def save(self) -> None:
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.data, f, indent=2)
        os.replace(tmp, self.path)


class FrameSigner:
    """Secures each TC frame as it goes out (every transmission, retransmissions included, gets a fresh SN)."""

    def __init__(self, keys: GroundKeys, spi: int | None = None):
        self.keys = keys
        self.spi = keys.spi if spi is None else spi
        self._mac = sdls.HmacSha256(keys.key(self.spi))
        self.last_sn = None  # SN of the last frame signed (None: a Type-BC frame, unsigned)
        self.signed = 0

    def sign(self, frame: bytes) -> bytes:
        if (frame[0] >> 4) & 0x03 == 3:  # Type-BC: COP-1 control commands are not secured
            self.last_sn = None
            return bytes(frame)
        sn = self.keys.take_sn(self.spi)
        self.last_sn = sn
        self.signed += 1
        return sdls.secure_tc_frame(frame, self.spi, sn, self._mac)


def key_load_args(keys: GroundKeys, spi: int, new_key: bytes, nonce: int | None = None) -> dict:
    """Arguments of SEC_KEY_LOAD carrying ``new_key`` wrapped under the KEK (does not change the key file)."""
    if len(new_key) != sdls.KEY_LEN:
        raise KeyFileError(f"a key is {sdls.KEY_LEN} octets, not {len(new_key)}")
    if nonce is None:
        nonce = keys.take_nonce()
    wrapped = sdls.wrap_key(keys.kek(), spi, nonce, new_key)
    args = {"spi": spi, "nonce": nonce}
    for i in range(8):
        args[f"wk{i}"] = int.from_bytes(wrapped[4 * i:4 * i + 4], "big")
    return args


def rejection_text(reason: int, spi: int) -> str:
    """'rejected on board: MAC check failed (SPI 1)' for an EV_SEC_REJECTED."""
    text = sdls.SEC_REJECT_TEXT.get(reason, f"security check {reason}")
    return f"rejected on board: {text} (SPI {spi})"
