"""On-board parameters bound to flight attributes by the mission database.

Each declared parameter names its source as ``"object.attr"``; at boot the
application hands over ``{object name: object}`` and every parameter is
resolved once (a missing object or attribute is a boot-time ValueError, so a
database that does not match the code cannot fly).  Housekeeping (service 3)
and parameter management (service 20) both read through this table, so a
value has one definition.  ``set`` tells ``on_set`` (payload/param_store.py keeps
its RAM shadow and the stored table in step with service 20 that way).
"""

from bus import mdb

_MASKS = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFFFFFF}


def fit(value, typ):
    """Fit a value to its wire type: unsigned counters wrap, signed values clamp."""
    if typ == "f32":
        return float(value)
    value = int(value)
    m = _MASKS.get(typ)
    if m is not None:
        return value & m
    lo, hi = mdb.TYPE_RANGES[typ]
    return lo if value < lo else (hi if value > hi else value)


class ParameterTable:
    def __init__(self, objects):
        self._by_id = {}  # pid -> (object, attr, type, settable)
        self._by_name = {}
        self.on_set = None  # callable(pid) after a successful set(): the parameter table's shadow and saves
        for p in mdb.PARAMETERS:
            oname, attr = p[4].split(".")
            obj = objects.get(oname)
            if obj is None:
                raise ValueError("parameter %s: no object %s" % (p[1], oname))
            if not hasattr(obj, attr):
                raise ValueError("parameter %s: %s has no attribute %s" % (p[1], oname, attr))
            entry = (obj, attr, p[2], p[7])
            self._by_id[p[0]] = entry
            self._by_name[p[1]] = entry

    def entry(self, name):
        return self._by_name[name]

    def known(self, pid):
        return pid in self._by_id

    def get(self, pid):
        obj, attr, typ, _ = self._by_id[pid]
        return fit(getattr(obj, attr), typ)

    def settable(self, pid):
        """(min, max) or None."""
        return self._by_id[pid][3]

    def set(self, pid, value):
        """Set within the declared range; returns 0 or a failure code."""
        e = self._by_id.get(pid)
        if e is None:
            return mdb.FAIL_UNKNOWN_PARAMETER
        rng = e[3]
        if rng is None:
            return mdb.FAIL_PARAM_READ_ONLY
        if value < rng[0] or value > rng[1]:
            return mdb.FAIL_PARAM_RANGE
        setattr(e[0], e[1], value)
        if self.on_set is not None:
            self.on_set(pid)
        return 0

    def flip_bit(self, name, bit):
        """Flip bit ``bit`` of a parameter's live flight attribute, as a radiation upset would;
        return the new value.  Fault injection for tests and fault campaigns only: no
        telecommand reaches it (service 20 goes through ``set``)."""
        obj, attr, _, _ = self._by_name[name]
        value = int(getattr(obj, attr)) ^ (1 << bit)
        setattr(obj, attr, value)
        return value
