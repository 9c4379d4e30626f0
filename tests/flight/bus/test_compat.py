"""The compat shim and the small-int boundary that every Q-format plans around."""

import sys

from bus.compat import IS_MICROPYTHON, SMALL_INT_MAX, const
from tests.flight.support import garbage_bytes


def test_interpreter_detected():
    assert IS_MICROPYTHON == (sys.implementation.name == "micropython")


def test_const_is_the_value():
    assert const(0x7FF) == 2047
    assert SMALL_INT_MAX == (1 << 30) - 1


def test_mp_small_int_boundary_is_where_the_flight_code_assumes():
    # Arithmetic that stays below 2**30 allocates nothing; one past it makes a
    # heap-allocated long int on every operation.  This is why each fixed-point
    # product in the flight loops is bounded by SMALL_INT_MAX.
    box = [SMALL_INT_MAX - 1, 0]

    def small():
        box[1] = box[0] + 1

    def big():
        box[1] = box[0] + 2

    assert garbage_bytes(small, 100) == 0
    assert garbage_bytes(big, 100) > 0
