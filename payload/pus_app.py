"""The shape every on-board application shares (cFS sample_app style, PUS services).

An application owns an APID, command counters, its events and a housekeeping
packet.  It answers TC[17,1] (are-you-alive) and the TC[8,1] functions declared
for its APID in the mission database; function 0 is No-op and function 1 is
Reset-Counters for every application.  The dispatcher checks a command's length
against its declaration *before* the handler runs; a wrong length counts as a
rejection, raises the application's ``*_LENGTH`` event and fails acceptance with
``FAIL_LENGTH`` naming the expected and actual length.

Handlers receive ``(args, tc)`` where ``args`` is the tuple of decoded
arguments and return 0 on success or a failure code (``bus.mdb`` FAILURES).
A handler that fails because of one argument says which by setting
``self.fail_arg`` to its 0-based index before returning the code; the failure
report carries it (``NO_ARGUMENT`` otherwise), as acceptance failures carry the
index of an argument outside its declared range.
"""

import struct

from bus import mdb
from bus.pus import NO_ARGUMENT
from bus.mdb import (
    FAIL_ILLEGAL_SUBTYPE, FAIL_ILLEGAL_FUNCTION, FAIL_LENGTH, FAIL_ARG_RANGE,
)


class Command:
    """A declared command bound to its handler, with the decoding it needs."""

    def __init__(self, decl, handler):
        self.name = decl[0]
        self.service = decl[2]
        self.subtype = decl[3]
        self.function_id = decl[4]
        self.args = decl[5]  # None: the handler decodes the application data itself
        self.hazardous = decl[6]
        self.handler = handler
        self.counts = not (self.service == 8 and self.function_id == 1)  # Reset-Counters does not count itself
        self.fmt = mdb.args_format(self.args) if self.args is not None else None
        # application-data length: function id octet, then the arguments
        self.length = (1 if self.function_id is not None else 0) + (
            struct.calcsize(self.fmt) if self.fmt is not None else 0)

    def decode(self, buf, offset, n):
        """Arguments as a tuple, or raise ValueError(index of the first argument out of range)."""
        if self.fmt is None:
            return None
        skip = 1 if self.function_id is not None else 0
        values = struct.unpack_from(self.fmt, buf, offset + skip)
        i = 0
        for a in self.args:
            v = values[i]
            if v < a[2] or v > a[3]:
                raise ValueError(i)
            i += 1
        return values


class PusApp:
    """Base of an on-board application; subclasses add handlers by name."""

    def __init__(self, apid, name, services):
        self.apid = apid
        self.name = name
        self.services = services  # payload.services.Services: verification, events, tm
        self.cmd_accepted = 0
        self.cmd_rejected = 0
        self.fail_arg = NO_ARGUMENT  # set by a failing handler: index of the argument at fault
        self.commands = {}  # (service, subtype, function id or None) -> Command
        prefix = None
        for e in mdb.EVENTS:
            if e[3] == apid and e[1].endswith("_NOOP"):
                prefix = e[1][:-5]
        self.ev_noop = mdb.event(prefix + "_NOOP")[0]
        self.ev_reset = mdb.event(prefix + "_RESET")[0]
        self.ev_length = mdb.event(prefix + "_LENGTH")[0]
        self._len_args = bytearray(4)  # expected, actual (u16, u16) for the length event
        for decl in mdb.COMMANDS:
            if decl[1] != apid:
                continue
            if decl[2] == 8 and decl[4] == 0:
                handler = self.cmd_noop
            elif decl[2] == 8 and decl[4] == 1:
                handler = self.cmd_reset_counters
            elif decl[2] == 17 and decl[3] == 1:
                handler = self.cmd_ping
            else:
                handler = getattr(self, "cmd_" + decl[0].lower(), None)
                if handler is None:
                    raise ValueError("%s: no handler for %s" % (name, decl[0]))
            self.commands[(decl[2], decl[3], decl[4])] = Command(decl, handler)

    # -- dispatch ----------------------------------------------------------------
    def find(self, tc, buf):
        """The Command a TC asks for, or a failure code."""
        off = tc.app_data_offset
        fid = None
        if tc.service == 8:
            if tc.app_data_len < 1:
                return FAIL_LENGTH
            fid = buf[off]
        cmd = self.commands.get((tc.service, tc.subtype, fid))
        if cmd is None:
            if tc.service == 8:
                return FAIL_ILLEGAL_FUNCTION
            return FAIL_ILLEGAL_SUBTYPE
        return cmd

    def execute(self, cmd, tc, buf):
        """Length check, argument decoding and the handler; returns 0 or a failure code."""
        v = self.services.verification
        n = tc.app_data_len
        if cmd.fmt is not None and n != cmd.length:
            self.cmd_rejected += 1
            struct.pack_into(">HH", self._len_args, 0, cmd.length, n)
            self.services.events.raise_event(self.ev_length, self._len_args, 4)
            v.fail(tc, 1, FAIL_LENGTH)
            return FAIL_LENGTH
        try:
            args = cmd.decode(buf, tc.app_data_offset, n)
        except ValueError as e:
            self.cmd_rejected += 1
            v.fail(tc, 1, FAIL_ARG_RANGE, e.args[0])
            return FAIL_ARG_RANGE
        v.accepted(tc)
        v.started(tc)
        self.fail_arg = NO_ARGUMENT
        code = cmd.handler(args, tc)
        if code:
            self.cmd_rejected += 1
            v.fail(tc, 7, code, self.fail_arg)
            self.fail_arg = NO_ARGUMENT
        else:
            if cmd.counts:
                self.cmd_accepted += 1
            v.completed(tc)
        return code

    # -- the commands every application answers -------------------------------------
    def cmd_noop(self, args, tc):
        self.services.events.raise_event(self.ev_noop)
        return 0

    def cmd_reset_counters(self, args, tc):
        self.cmd_accepted = 0
        self.cmd_rejected = 0
        self.reset_counters()
        self.services.events.raise_event(self.ev_reset)
        return 0

    def reset_counters(self):
        """Subclasses reset their own counters here."""

    def cmd_ping(self, args, tc):
        self.services.tm.send(self.apid, 17, 2, None, 0)
        return 0
