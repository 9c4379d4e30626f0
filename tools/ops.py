"""Operator tools that talk to ``qsat ground`` (JSON lines on TCP, docs/icd.md):

    qsat ground [--archive FILE]            run the ground station service (signs every TC frame:
                 [--key-file F] [--spi N]   keys in ground_keys.json; --no-auth for an unsecured payload)
    qsat tc NAME [key=value ...]            send a telecommand, print each verification stage; a frame
                                            the payload refused says why ("rejected on board: MAC check
                                            failed (SPI 1)"); SEC_KEY_LOAD spi=N key=HEX is wrapped by
                                            the station under the KEK (docs/security.md)
    qsat tc NAME [key=value ...] --arm      a hazardous command (docs/hazardous_commands.md): HAZ_ARM for
                                            exactly it, its completion awaited, then the command; without
                                            --arm a hazardous command is refused here (exit code 2)
    qsat watch [--seconds S] [NAME ...]     live telemetry with limit colouring
    qsat status                             link, COP-1 and counters
    qsat archive params NAME [--since S]    query the archive (parameters, events, commands)
    qsat commands                           list the commands of the mission database

Each exits non-zero with a one-line reason when a command fails, times out or
the ground station cannot be reached.
"""

import asyncio
import json
import socket
import sys
import time

from bus import mdb

COLOURS = {"NOMINAL": "\033[32m", "YELLOW": "\033[33m", "RED": "\033[31m"}
RESET = "\033[0m"


class OpsError(Exception):
    pass


def _connect(host: str, port: int, timeout_s: float) -> socket.socket:
    try:
        s = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as e:
        raise OpsError(f"cannot reach qsat ground on {host}:{port} ({e.strerror or e}); is it running?") from None
    return s


def _lines(sock: socket.socket, deadline: float):
    buf = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)


def send(host, port, name, args, ack=0b1111, timeout_s=10.0, out=print) -> bool:
    """Send one command through the ground station; print its stages; True when it completed."""
    with _connect(host, port, timeout_s) as s:
        s.sendall((json.dumps({"op": "send", "command": name, "args": args, "ack": ack,
                               "timeout_s": timeout_s}) + "\n").encode())
        for msg in _lines(s, time.monotonic() + timeout_s + 2.0):
            ev = msg.get("event")
            if ev == "sent":
                out(f"sent {msg['command']} (APID 0x{msg['apid']:03X}, sequence {msg['seq_count']})")
            elif ev == "stage":
                word = "ok" if msg["success"] else f"FAILED: {msg['reason']} (code 0x{msg['code']:04X})"
                out(f"  {msg['stage']:<11s} {word}")
            elif ev == "done":
                if not msg["success"]:
                    raise OpsError(msg["reason"])
                return True
    raise OpsError("no answer from qsat ground")


def status(host, port, timeout_s=5.0) -> dict:
    with _connect(host, port, timeout_s) as s:
        s.sendall(b'{"op": "status"}\n')
        for msg in _lines(s, time.monotonic() + timeout_s):
            if msg.get("event") == "status":
                return msg
    raise OpsError("no status from qsat ground")


def watch(host, port, seconds, names, colour=True, out=print) -> int:
    """Print parameter samples (and events, limit changes) for ``seconds``; return how many."""
    n = 0
    with _connect(host, port, 5.0) as s:
        s.sendall(b'{"op": "subscribe"}\n')
        for msg in _lines(s, time.monotonic() + seconds):
            ev = msg.get("event")
            if ev == "param" and (not names or msg["name"] in names):
                state = msg.get("state") or "NOMINAL"
                c0, c1 = (COLOURS.get(state, ""), RESET) if colour else ("", "")
                eng = msg["eng"]
                eng = f"{eng:.4f}" if isinstance(eng, float) else str(eng)
                out(f"{c0}{msg['name']:<24s} {eng:>14s} {msg.get('unit') or '':<6s} {state}{c1}")
                n += 1
            elif ev == "tm_event":
                out(f"EVENT {msg['name']} (severity {msg['severity']}): {msg['text']} {msg['args']}")
            elif ev == "limit":
                out(f"LIMIT {msg['name']}: {msg['from']} -> {msg['to']} (raw {msg['raw']})")
            elif ev == "alert":
                out(f"COP-1 ALERT {msg['reason']}: {msg['text']}")
    return n


# -- command line -----------------------------------------------------------------------

def _common(p):
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=mdb.PORT_GROUND_OPS, help="qsat ground's operator port")


def add_parsers(sub) -> None:
    g = sub.add_parser("ground", help="run the ground station service (space link, FOP-1, decoding, archive)")
    g.add_argument("--archive", default="ground.sqlite", help="SQLite archive file (default ground.sqlite)")
    g.add_argument("--host", default="127.0.0.1")
    g.add_argument("--tm-port", type=int, default=mdb.PORT_SPACE_TM, help="UDP port TM frames arrive on")
    g.add_argument("--tc-port", type=int, default=mdb.PORT_SPACE_TC, help="UDP port of the payload's uplink")
    g.add_argument("--ops-port", type=int, default=mdb.PORT_GROUND_OPS, help="TCP port for operator tools")
    g.add_argument("--bare-frames", action="store_true", help="send bare TC frames instead of CLTUs")
    g.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (default: run until stopped)")
    g.add_argument("--key-file", default="ground_keys.json",
                   help="TC authentication keys and counters (default ground_keys.json; created with the "
                        "laboratory keys on first use; docs/security.md)")
    g.add_argument("--spi", type=int, default=None, help="SPI to sign with (default: the key file's)")
    g.add_argument("--no-auth", action="store_true",
                   help="send unauthenticated TC frames (only for a payload built without tc_auth)")
    g.set_defaults(func=cmd_ground)
    t = sub.add_parser("tc", help="send a telecommand by name through qsat ground")
    t.add_argument("name")
    t.add_argument("args", nargs="*", metavar="key=value")
    t.add_argument("--ack", type=lambda v: int(v, 0), default=0b1111, help="acknowledgement flags (default 0b1111)")
    t.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for completion")
    t.add_argument("--arm", action="store_true",
                   help="hazardous command: send HAZ_ARM for exactly this command first, then the command")
    _common(t)
    t.set_defaults(func=cmd_tc)
    w = sub.add_parser("watch", help="live telemetry with limit colouring")
    w.add_argument("names", nargs="*", help="parameters to show (default: all)")
    w.add_argument("--seconds", type=float, default=3600.0)
    w.add_argument("--no-colour", action="store_true")
    _common(w)
    w.set_defaults(func=cmd_watch)
    s = sub.add_parser("status", help="space link, COP-1 and ground station counters")
    _common(s)
    s.set_defaults(func=cmd_status)
    a = sub.add_parser("archive", help="query the ground archive")
    a.add_argument("kind", choices=("params", "events", "commands", "packets"))
    a.add_argument("name", nargs="?", help="parameter (params) or event name (events)")
    a.add_argument("--archive", default="ground.sqlite")
    a.add_argument("--since", type=float, default=None, help="UNIX time or negative seconds from now")
    a.add_argument("--until", type=float, default=None)
    a.add_argument("--limit", type=int, default=50, help="rows to print (latest)")
    a.set_defaults(func=cmd_archive)
    c = sub.add_parser("commands", help="list the telecommands of the mission database")
    c.set_defaults(func=cmd_commands)


def _fail(tool: str, reason: str) -> int:
    print(f"qsat {tool}: {reason}", file=sys.stderr)
    return 1


def cmd_ground(args) -> int:
    from ground_segment.station import GroundStation

    try:
        station = GroundStation(args.archive, args.host, args.tm_port, args.tc_port, args.ops_port,
                                use_cltu=not args.bare_frames, key_file=args.key_file,
                                authenticate=not args.no_auth, spi=args.spi)
    except Exception as e:  # noqa: BLE001 - e.g. an unreadable archive: one line, no traceback
        return _fail("ground", f"cannot start: {e}")
    print(f"qsat ground: TM frames on udp/{args.tm_port}, TC to udp/{args.tc_port}, operators on "
          f"tcp/{args.ops_port}, archive {args.archive}", flush=True)
    if station.signer is None:
        print("qsat ground: TC frames NOT authenticated (--no-auth)", flush=True)
    else:
        made = " (created with the laboratory keys)" if station.keys.created else ""
        print(f"qsat ground: TC frames authenticated with SPI {station.signer.spi}, keys from "
              f"{station.keys.path}{made}", flush=True)

    async def main():
        stop = asyncio.Event()
        if args.duration > 0:
            asyncio.get_running_loop().call_later(args.duration, stop.set)
        await station.serve(stop)

    try:
        asyncio.run(main())
    except OSError as e:
        return _fail("ground", f"cannot bind its ports: {e.strerror or e}")
    except KeyboardInterrupt:
        pass
    st = station.status()
    print(f"qsat ground: stopped; {st['frames']} frames, {st['packets']} packets, {st['commands']} commands",
          flush=True)
    return 0


def cmd_tc(args) -> int:
    from ground_segment.commanding import CommandError, arm_args, encode, hazard_reason, parse_args

    step = "command"
    hazard = None
    try:
        kv = parse_args(args.args)
        if not (args.name.upper() == "SEC_KEY_LOAD" and "key" in kv):  # the station wraps key=HEX itself
            encode(args.name, kv)  # reject a malformed command before contacting the ground station
            hazard = hazard_reason(args.name, kv)
        if hazard is not None and not args.arm:
            print(f"qsat tc: {hazard}: repeat with --arm", file=sys.stderr)
            return 2
        if hazard is not None:
            step = "HAZ_ARM"
            send(args.host, args.port, "HAZ_ARM", arm_args(args.name, kv), timeout_s=args.timeout)
            print(f"armed {args.name.upper()} for hazard_arm_timeout_s (HAZ_ARM completed)")
            step = "command"
        send(args.host, args.port, args.name, kv, args.ack, args.timeout)
        if hazard is not None:
            print(f"executed {args.name.upper()} under its arm")
    except (CommandError, OpsError) as e:
        return _fail("tc", f"{step}: {e}" if hazard is not None else str(e))
    return 0


def cmd_watch(args) -> int:
    try:
        watch(args.host, args.port, args.seconds, set(args.names), colour=not args.no_colour)
    except OpsError as e:
        return _fail("watch", str(e))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_status(args) -> int:
    try:
        st = status(args.host, args.port)
    except OpsError as e:
        return _fail("status", str(e))
    for k, v in st.items():
        if k != "event":
            print(f"{k:<16s} {v}")
    return 0


def cmd_archive(args) -> int:
    import os

    from ground_segment.archive import Archive

    if not os.path.exists(args.archive):
        return _fail("archive", f"no archive at {args.archive}")
    now = time.time()
    t0 = None if args.since is None else (now + args.since if args.since < 0 else args.since)
    t1 = None if args.until is None else (now + args.until if args.until < 0 else args.until)
    arch = Archive(args.archive, readonly=True)
    if args.kind == "params":
        if not args.name:
            return _fail("archive", "params needs a parameter name")
        rows = arch.parameters(args.name, t0, t1)
    elif args.kind == "events":
        rows = arch.events(t0, t1, args.name)
    elif args.kind == "commands":
        rows = arch.commands(t0, t1)
    else:
        rows = arch.packets(t0, t1)
    for row in list(rows)[-args.limit:]:
        print(json.dumps(row if isinstance(row, dict) else getattr(row, "_asdict", lambda: row)(), default=str))
    return 0


def cmd_commands(args) -> int:
    from ground_segment.commanding import describe

    for c in mdb.COMMANDS:
        print(describe(c[0]) + ("  [HAZARDOUS]" if c[6] else ""))
    return 0
