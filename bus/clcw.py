"""Communications Link Control Word (CCSDS 232.0-B-4 §4.2.1, 232.1-B-2 §6.1.8).

The FARM-1 on board reports its state to the FOP-1 on the ground in a 32-bit
CLCW carried in the operational control field of every TM frame.  Bits, most
significant first::

    bit  0      control word type       0 (a CLCW)
         1..2   CLCW version number     00
         3..5   status field            mission specific (0 here)
         6..7   COP in effect           01 = COP-1
         8..13  virtual channel id      the TC virtual channel reported on
        14..15  spare                   00
        16      No RF available         1: no RF on the uplink
        17      No bit lock             1: the receiver has no bit lock
        18      Lockout                 1: FARM-1 in the Lockout state
        19      Wait                    1: FARM-1 cannot accept more Type-AD frames
        20      Retransmit              1: a Type-AD frame was lost: retransmit
        21..22  FARM-B counter          two low bits of the count of accepted Type-B frames
        23      spare                   0
        24..31  report value            V(R), the next expected N(S)

With control word type 0 and version 00 the word is below 2**29, a small int on
MicroPython: ``pack_clcw`` allocates nothing.
"""

from bus.compat import const

CLCW_LEN = const(4)  # octets
COP_1 = const(1)  # COP in effect: COP-1
VCID_MAX = const(0x3F)

# bit positions within the 32-bit word (0 = least significant)
_STATUS_SHIFT = const(26)
_COP_SHIFT = const(24)
_VCID_SHIFT = const(18)
NO_RF_BIT = const(1 << 15)
NO_BIT_LOCK_BIT = const(1 << 14)
LOCKOUT_BIT = const(1 << 13)
WAIT_BIT = const(1 << 12)
RETRANSMIT_BIT = const(1 << 11)
_FARM_B_SHIFT = const(9)


def pack_clcw(vcid, report_value, lockout=0, wait=0, retransmit=0, farm_b_counter=0,
              no_rf=0, no_bit_lock=0, status=0, cop_in_effect=COP_1):
    """The CLCW as an int; flags are 0/1 (any true value counts as 1).

    ``farm_b_counter`` may be the full count: only its two low bits travel.
    Raises ValueError for a VCID, report value, status or COP field out of range.
    """
    if not 0 <= vcid <= VCID_MAX:
        raise ValueError("vcid %d outside 0..%d" % (vcid, VCID_MAX))
    if not 0 <= report_value <= 0xFF:
        raise ValueError("report value %d outside 0..255" % report_value)
    if not 0 <= status <= 7:
        raise ValueError("status field %d outside 0..7" % status)
    if not 0 <= cop_in_effect <= 3:
        raise ValueError("COP in effect %d outside 0..3" % cop_in_effect)
    w = (status << _STATUS_SHIFT) | (cop_in_effect << _COP_SHIFT) | (vcid << _VCID_SHIFT)
    if no_rf:
        w |= NO_RF_BIT
    if no_bit_lock:
        w |= NO_BIT_LOCK_BIT
    if lockout:
        w |= LOCKOUT_BIT
    if wait:
        w |= WAIT_BIT
    if retransmit:
        w |= RETRANSMIT_BIT
    return w | ((farm_b_counter & 3) << _FARM_B_SHIFT) | report_value


def clcw_into(buf, offset, word):
    """Write ``word`` big-endian into ``buf[offset:offset + 4]`` (no allocation)."""
    buf[offset] = (word >> 24) & 0xFF
    buf[offset + 1] = (word >> 16) & 0xFF
    buf[offset + 2] = (word >> 8) & 0xFF
    buf[offset + 3] = word & 0xFF


def clcw_from(buf, offset=0):
    """The 32-bit word stored big-endian at ``buf[offset:offset + 4]``."""
    return (buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]


# Field accessors (allocation-free for words below 2**30)
def control_word_type(word):
    return (word >> 31) & 1


def version(word):
    return (word >> 29) & 3


def status(word):
    return (word >> _STATUS_SHIFT) & 7


def cop_in_effect(word):
    return (word >> _COP_SHIFT) & 3


def vcid(word):
    return (word >> _VCID_SHIFT) & VCID_MAX


def no_rf(word):
    return 1 if word & NO_RF_BIT else 0


def no_bit_lock(word):
    return 1 if word & NO_BIT_LOCK_BIT else 0


def lockout(word):
    return 1 if word & LOCKOUT_BIT else 0


def wait(word):
    return 1 if word & WAIT_BIT else 0


def retransmit(word):
    return 1 if word & RETRANSMIT_BIT else 0


def farm_b_counter(word):
    return (word >> _FARM_B_SHIFT) & 3


def report_value(word):
    return word & 0xFF


def is_cop1_clcw(word):
    """True when ``word`` is a version-00 CLCW with COP-1 in effect."""
    return (word >> 29) == 0 and cop_in_effect(word) == COP_1


FIELDS = ("control_word_type", "version", "status", "cop_in_effect", "vcid", "no_rf",
          "no_bit_lock", "lockout", "wait", "retransmit", "farm_b_counter", "report_value")


def unpack_clcw(word):
    """All fields of ``word`` as a dict keyed by FIELDS (ground and tests; allocates)."""
    return {
        "control_word_type": control_word_type(word),
        "version": version(word),
        "status": status(word),
        "cop_in_effect": cop_in_effect(word),
        "vcid": vcid(word),
        "no_rf": no_rf(word),
        "no_bit_lock": no_bit_lock(word),
        "lockout": lockout(word),
        "wait": wait(word),
        "retransmit": retransmit(word),
        "farm_b_counter": farm_b_counter(word),
        "report_value": report_value(word),
    }
