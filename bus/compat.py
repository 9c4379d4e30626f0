"""The few differences between MicroPython and CPython that flight code meets.

MicroPython's ``const()`` folds a constant at compile time (and keeps a name with
a leading underscore out of the module's globals); on CPython it is an identity.
This module is the single place where flight code asks which interpreter it is on.
"""

import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const  # noqa: F401  (re-exported)
except ImportError:  # CPython

    def const(value):
        """Identity on CPython; a compile-time constant on MicroPython."""
        return value


# Small ints on 32-bit MicroPython ports hold |x| < 2**30; anything larger is a
# heap-allocated long int.  Fixed-point code keeps every intermediate inside.
SMALL_INT_MAX = const(0x3FFFFFFF)
