"""Telecommand authentication in the style of CCSDS SDLS (355.0-B-2), authentication service only.

Wire layout of a secured Type-AD/BD TC frame (octets, n = whole frame)::

    0..4        TC primary header (232.0-B §4.1.2), frame length counts everything below
    5           segment header (sequence flags 11, MAP id)
    6..7        security header: Security Parameter Index (SPI, u16)
    8..11       security header: anti-replay sequence number (SN, u32)
    12..n-19    frame data: whole space packets, as without security
    n-18..n-3   MAC trailer: the first 16 octets of HMAC-SHA256(key[SPI], octets 0..n-19)
    n-2..n-1    FECF (CRC-16 over octets 0..n-3)

The MAC covers the primary header, the segment header, the security header and
the frame data (SDLS §2.3.2.2, authentication mask all ones: every header bit
is authenticated, N(S) and the frame length included).  Type-BC frames (COP-1
control commands Unlock and Set V(R)) carry no security header or trailer: see
docs/security.md for the reasoning.  The security adds SEC_OVERHEAD (22)
octets, so a secured frame carries at most ``mdb.TC_PACKET_MAX_LEN`` octets of
packets.

HMAC is RFC 2104 built on ``hashlib.sha256`` (the ``hmac`` module is not on
every MicroPython port)::

    HMAC(K, m) = H((K0 xor opad) || H((K0 xor ipad) || m))

with K0 the key padded with zeros to the 64-octet block (hashed first when
longer), ipad = 0x36 and opad = 0x5C repeated.  ``HmacSha256`` computes the two
padded keys once per key (``set_key``) into buffers it owns.

Rejection codes (on board, ``SdlsReceiver.verify``), in the order checked::

    SEC_TRUNCATED  data field too short for security header, one data octet and MAC
    SEC_BAD_SPI    SPI unknown on board or disabled
    SEC_BAD_MAC    MAC differs (forged, corrupted after the FECF, or a wrong key)
    SEC_REPLAY     SN not in last+1 .. last+ARSN_WINDOW for its SPI

Key wrapping for SEC_KEY_LOAD (confidentiality of a new key on the uplink): the
key-encryption key (KEK, key slot 0, never used for a frame MAC) derives a
keystream in counter mode::

    block_i = HMAC-SHA256(KEK, "QSAT-KW" || SPI (u16) || nonce (u32) || i (u8)),  i = 0, 1, ...
    wrapped = key xor (block_0 || block_1 ...)[:len(key)]

A 32-octet key needs block 0 only.  The nonce must grow with every key load
(the board refuses a nonce it has not seen grow), so no keystream is used
twice; the frame MAC authenticates the wrapped key and its nonce.
"""

import hashlib
import struct

from bus.compat import const
from bus.crc16 import crc16
from bus.tc_frame import FRAME_BC, PRIMARY_HEADER_LEN, SEGMENT_HEADER_LEN, FECF_LEN, pack_tc_frame_into

SPI_LEN = const(2)
SN_LEN = const(4)
SEC_HEADER_LEN = const(6)  # SPI + SN
MAC_LEN = const(16)  # truncated HMAC-SHA256 (128 bits)
SEC_OVERHEAD = const(22)  # security header + MAC trailer
KEY_LEN = const(32)  # octets of every key (HMAC-SHA256 keys, KEK)
BLOCK_LEN = const(64)  # SHA-256 block
DIGEST_LEN = const(32)
N_SPI = const(4)  # key slots 0..3: slot 0 the KEK, SPIs 1..3 authenticate frames
SPI_MIN = const(1)
SPI_MAX = const(3)
ARSN_WINDOW = const(0x100000)  # an SN may jump at most this far above the last accepted
SN_MAX = 0xFFFFFFFF

SEC_OK = const(0)
SEC_TRUNCATED = const(32)
SEC_BAD_SPI = const(33)
SEC_BAD_MAC = const(34)
SEC_REPLAY = const(35)

SEC_REJECT_TEXT = {
    SEC_TRUNCATED: "frame truncated: too short for security header and MAC",
    SEC_BAD_SPI: "unknown or disabled SPI",
    SEC_BAD_MAC: "MAC check failed",
    SEC_REPLAY: "sequence number replayed or outside the anti-replay window",
}

_KW_LABEL = b"QSAT-KW"


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) on ``hashlib.sha256`` with the padded keys precomputed.

    ``set_key(key)`` once per key; ``digest_into(out, buf, start, end)`` writes
    the 32-octet MAC of ``buf[start:end]`` into ``out``.  The padded-key blocks
    and the inner digest live in buffers owned by the object.
    """

    def __init__(self, key=None):
        self._ipad = bytearray(BLOCK_LEN)  # K0 xor 0x36..
        self._opad = bytearray(BLOCK_LEN)  # K0 xor 0x5C..
        self._inner = bytearray(DIGEST_LEN)
        self.keyed = False
        if key is not None:
            self.set_key(key)

    def set_key(self, key):
        k = key
        if len(k) > BLOCK_LEN:
            k = hashlib.sha256(k).digest()
        n = len(k)
        i = 0
        while i < BLOCK_LEN:
            b = k[i] if i < n else 0
            self._ipad[i] = b ^ 0x36
            self._opad[i] = b ^ 0x5C
            i += 1
        self.keyed = True

    def digest_into(self, out, buf, start=0, end=None, prefix=None):
        """MAC of ``prefix`` (optional) then ``buf[start:end]`` into ``out[0:32]``."""
        if end is None:
            end = len(buf)
        h = hashlib.sha256()
        h.update(self._ipad)
        if prefix is not None:
            h.update(prefix)
        if end > start:
            h.update(memoryview(buf)[start:end])
        self._inner[:] = h.digest()
        h = hashlib.sha256()
        h.update(self._opad)
        h.update(self._inner)
        out[0:DIGEST_LEN] = h.digest()
        return out

    def digest(self, msg):
        """The full 32-octet MAC of ``msg`` (allocates; ground and tests)."""
        out = bytearray(DIGEST_LEN)
        self.digest_into(out, msg)
        return bytes(out)


def hmac_sha256(key, msg):
    """HMAC-SHA256 of ``msg`` under ``key`` (32 octets, allocates)."""
    return HmacSha256(key).digest(msg)


def lab_key(slot):
    """The default laboratory key of a key slot (0: KEK; 1..3: SPIs).  Public: never for flight."""
    return hashlib.sha256(b"qsat lab key " + bytes((0x30 + slot,))).digest()


def equal_const_time(a, a_off, b, b_off, n):
    """True when ``a[a_off:a_off+n] == b[b_off:b_off+n]``, looking at every octet."""
    diff = 0
    i = 0
    while i < n:
        diff |= a[a_off + i] ^ b[b_off + i]
        i += 1
    return diff == 0


# -- key wrapping (SEC_KEY_LOAD) ------------------------------------------------------
def keystream_into(kek_mac, spi, nonce, out, n):
    """``n`` octets of the key-wrap keystream for (``spi``, ``nonce``) into ``out``."""
    label = bytearray(len(_KW_LABEL) + 7)
    label[0:len(_KW_LABEL)] = _KW_LABEL
    o = len(_KW_LABEL)
    struct.pack_into(">HI", label, o, spi, nonce)
    block = bytearray(DIGEST_LEN)
    pos = 0
    ctr = 0
    while pos < n:
        label[o + 6] = ctr
        kek_mac.digest_into(block, label)
        take = n - pos
        if take > DIGEST_LEN:
            take = DIGEST_LEN
        out[pos:pos + take] = block[0:take]
        pos += take
        ctr += 1
    return out


def wrap_key(kek, spi, nonce, key):
    """``key`` xor the keystream of (KEK, spi, nonce): the wrapped key (also unwraps)."""
    mac = kek if isinstance(kek, HmacSha256) else HmacSha256(kek)
    n = len(key)
    ks = keystream_into(mac, spi, nonce, bytearray(n), n)
    out = bytearray(n)
    i = 0
    while i < n:
        out[i] = key[i] ^ ks[i]
        i += 1
    return bytes(out)


unwrap_key = wrap_key


# -- sending end (ground, tests) --------------------------------------------------------
def secure_tc_frame(frame, spi, sn, mac):
    """The secured version of a plain TC frame (allocates; ground side).

    ``frame``: a complete Type-AD/BD frame with segment header and FECF (as
    FOP-1 writes it); ``mac``: an ``HmacSha256`` keyed with the SPI's key.
    Type-BC frames are returned unchanged.  Raises ValueError when the secured
    frame would exceed 1024 octets or a field is out of range.
    """
    if not 0 <= spi <= 0xFFFF:
        raise ValueError("SPI %d outside 0..65535" % spi)
    if not 0 <= sn <= SN_MAX:
        raise ValueError("sequence number %d outside 0..%d" % (sn, SN_MAX))
    ftype = (frame[0] >> 4) & 0x03
    if ftype == FRAME_BC:
        return bytes(frame)
    scid = (frame[0] & 0x03) << 8 | frame[1]
    vcid = frame[2] >> 2
    seq = frame[4]
    map_id = frame[5] & 0x3F
    d = PRIMARY_HEADER_LEN + SEGMENT_HEADER_LEN
    data = bytes(frame[d:len(frame) - FECF_LEN])
    secured = bytearray(SEC_HEADER_LEN + len(data) + MAC_LEN)
    struct.pack_into(">HI", secured, 0, spi, sn)
    secured[SEC_HEADER_LEN:SEC_HEADER_LEN + len(data)] = data
    buf = bytearray(d + len(secured) + FECF_LEN)
    n = pack_tc_frame_into(buf, scid, vcid, ftype, seq, secured, map_id)
    mac_pos = n - FECF_LEN - MAC_LEN
    full = bytearray(DIGEST_LEN)
    mac.digest_into(full, buf, 0, mac_pos)
    buf[mac_pos:mac_pos + MAC_LEN] = full[0:MAC_LEN]
    c = crc16(buf, 0, n - FECF_LEN)
    buf[n - 2] = c >> 8
    buf[n - 1] = c & 0xFF
    return bytes(buf[:n])


# -- receiving end (on board) -------------------------------------------------------------
class SdlsReceiver:
    """ProcessSecurity of the receiving end for TC frames (authentication only).

    ``keys``: the key store (``payload.key_store.KeyStore`` or alike) with
    ``mac_for(spi)`` (an ``HmacSha256`` or None: unknown or disabled SPI),
    ``last_sn(spi)`` and ``accept_sn(spi, sn)`` (records, and persists, the
    new last accepted SN).  ``window``: how far above the last accepted SN a
    new one may be.  Counters (telemetry) count each verdict.
    """

    def __init__(self, keys, window=ARSN_WINDOW):
        self._keys = keys
        self.window = window
        self._mac = bytearray(DIGEST_LEN)  # computed MAC
        self.accepted = 0  # frames whose security checks passed
        self.truncated = 0  # SEC_TRUNCATED
        self.bad_spi = 0  # SEC_BAD_SPI
        self.bad_mac = 0  # SEC_BAD_MAC (forged)
        self.replayed = 0  # SEC_REPLAY
        # of the last frame verified
        self.spi = 0
        self.sn = 0
        self.data_offset = 0  # first octet of the packets (after the security header)
        self.data_len = 0  # octets of packets (without security header and MAC)

    def verify(self, buf, frame_offset, data_offset, data_len):
        """Check the secured data field ``buf[data_offset:data_offset+data_len]`` of the
        frame starting at ``frame_offset``; return SEC_OK or a SEC_* rejection code."""
        code = self._check(buf, frame_offset, data_offset, data_len)
        if code == SEC_OK:
            self.accepted += 1
        elif code == SEC_TRUNCATED:
            self.truncated += 1
        elif code == SEC_BAD_SPI:
            self.bad_spi += 1
        elif code == SEC_BAD_MAC:
            self.bad_mac += 1
        else:
            self.replayed += 1
        return code

    def _check(self, buf, fo, d, n):
        self.spi = 0
        self.sn = 0
        if n < SEC_OVERHEAD + 1:
            return SEC_TRUNCATED
        spi = buf[d] << 8 | buf[d + 1]
        sn = struct.unpack_from(">I", buf, d + SPI_LEN)[0]
        self.spi = spi
        self.sn = sn
        mac = self._keys.mac_for(spi)
        if mac is None:
            return SEC_BAD_SPI
        mac_pos = d + n - MAC_LEN
        mac.digest_into(self._mac, buf, fo, mac_pos)
        if not equal_const_time(self._mac, 0, buf, mac_pos, MAC_LEN):
            return SEC_BAD_MAC
        delta = sn - self._keys.last_sn(spi)
        if delta <= 0 or delta > self.window:
            return SEC_REPLAY
        self._keys.accept_sn(spi, sn)  # persisted before any packet of the frame runs
        self.data_offset = d + SEC_HEADER_LEN
        self.data_len = n - SEC_OVERHEAD
        return SEC_OK

    def reset_counters(self):
        self.accepted = 0
        self.truncated = 0
        self.bad_spi = 0
        self.bad_mac = 0
        self.replayed = 0
