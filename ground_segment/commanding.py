"""Operator command syntax, from the mission database: ``NAME key=value ...`` to a PUS TC.

Every command of bus/mdb.py is typed by name; its arguments are given as
``key=value`` (decimal, 0x hex, or for enumerated ``on`` arguments ``on``/``off``),
checked against the declared type and range, and packed big-endian after the
function ID of TC[8,1].  Commands without a fixed argument list (TC[11,4]) take
their application data as ``data=HEX``.  Errors are ``CommandError`` with a
one-line reason for the tools to print.
"""

import struct

from bus import mdb
from bus.pus import ACK_ALL, pack_tc


class CommandError(ValueError):
    """A command the operator typed cannot be built; the message says why."""


def _value(text: str) -> int:
    t = text.strip().lower()
    if t in ("on", "true", "yes"):
        return 1
    if t in ("off", "false", "no"):
        return 0
    try:
        return int(t, 0)
    except ValueError:
        raise CommandError(f"not an integer: {text!r}") from None


def parse_args(tokens: list[str]) -> dict:
    """``["key=value", ...]`` to a dict of strings."""
    out = {}
    for tok in tokens:
        if "=" not in tok:
            raise CommandError(f"argument {tok!r} is not key=value")
        k, v = tok.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def encode(name: str, args: dict) -> tuple[int, int, int, bytes]:
    """(apid, service, subtype, application data) for a declared command."""
    try:
        decl = mdb.command(name.upper())
    except KeyError:
        raise CommandError(f"unknown command {name!r} (see docs/icd.md or 'qsat commands')") from None
    cname, apid, svc, sub, fid, arg_decl, hazardous, _ = decl
    data = b"" if fid is None else bytes([fid])
    given = dict(args)
    if arg_decl is None:
        hexdata = given.pop("data", None)
        if hexdata is None:
            raise CommandError(f"{cname} takes its application data as data=HEX")
        try:
            data += bytes.fromhex(str(hexdata))
        except ValueError:
            raise CommandError(f"{cname}: data is not hexadecimal") from None
    else:
        values = []
        for aname, typ, lo, hi, unit in arg_decl:
            if aname not in given:
                if aname == "n" and lo == hi:  # the count of a one-element list
                    values.append(lo)
                    continue
                raise CommandError(f"{cname} needs {aname}= ({typ} {lo}..{hi}{' ' + unit if unit else ''})")
            v = given.pop(aname)
            v = _value(v) if isinstance(v, str) else int(v)
            if not lo <= v <= hi:
                raise CommandError(f"{cname}: {aname}={v} outside {lo}..{hi}")
            values.append(v)
        data += struct.pack(mdb.args_format(arg_decl), *values)
    if given:
        raise CommandError(f"{cname} has no argument {', '.join(sorted(given))}")
    return apid, svc, sub, data


def build_tc(name: str, args: dict, seq_count: int, ack_flags: int = ACK_ALL, source_id: int = 0) -> bytes:
    apid, svc, sub, data = encode(name, args)
    return pack_tc(apid, seq_count, svc, sub, data, ack_flags, source_id)


def describe(name: str) -> str:
    """One line of usage for a command."""
    decl = mdb.command(name.upper())
    if decl[5] is None:
        usage = "data=HEX"
    else:
        usage = " ".join(f"{a}=<{t} {lo}..{hi}>" for a, t, lo, hi, _ in decl[5] if not (a == "n" and lo == hi))
    return " ".join(p for p in (decl[0], usage, "--", decl[7]) if p)
