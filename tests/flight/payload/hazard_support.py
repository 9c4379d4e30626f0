"""Arming hazardous commands the proper way in the flight tests, on either interpreter.

``command_data`` builds a command's application data as ``Bench.tc`` sends it;
``may_be_hazardous`` reads the mission database's declaration as the ground
does (a state-dependent condition counts: the ground cannot see that state);
``arm`` sends HAZ_ARM for exactly that command and checks it completed;
``armed_tc`` arms, then sends the command.  Nothing switches the gate off.
"""

from bus import mdb
from bus.crc16 import crc16
from tests.flight.payload.ground_stub import command_data, of  # noqa: F401 - command_data re-exported


def may_be_hazardous(name, *args):
    """The declaration (bus.mdb COMMANDS field 6) for these argument values, as the ground reads it."""
    c = mdb.command(name)
    decl = c[6]
    if decl is True or decl is False:
        return decl
    for cond in decl:
        if cond[0] == mdb.HAZ_STATE:
            continue
        i = [a[0] for a in c[5]].index(cond[0])
        if args[i] < cond[1] or args[i] > cond[2]:
            return False
    return True


def arm_args(name, *args):
    """HAZ_ARM's arguments naming exactly this command: APID, service, subtype, function, CRC-16."""
    c = mdb.command(name)
    data = command_data(name, *args)
    return c[1], c[2], c[3], c[4] if c[4] is not None else 0, crc16(data)


def arm(bench, name, *args, run=None):
    """Send HAZ_ARM for ``name`` with ``args``; step the payload (``run(ms)``, default
    ``bench.run_ms``) until it completed; the lab port's TM is cleared afterwards."""
    bench.tc("HAZ_ARM", *arm_args(name, *args), ms=0)
    (run or bench.run_ms)(60)
    done = of(bench.received(), 1, 7)
    bench.lab.tx.clear()
    assert done, "HAZ_ARM did not complete for %s %r" % (name, args)


def armed_tc(bench, name, *args, ms=60):
    """Arm, then send the command; the TM packets that came back for the command."""
    arm(bench, name, *args)
    return bench.tc(name, *args, ms=ms)
