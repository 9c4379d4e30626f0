"""``qsat emulate``: the payload on the wall clock, serving its links on loopback UDP.

    UDP 7302  space-link uplink: CLTUs or bare TC frames in
    UDP 7303  space-link downlink: TM frames out to the ground station service
    UDP 7301  lab port: raw space packets in, every TM packet out to each
              address heard in the last ten minutes (``--no-lab`` switches it off)
    UDP 7320  fault injection (EGSE side): ``qsat inject FAULT`` starts a fault of
              sim/faults.py now; ``--faults FILE`` schedules them from a JSON file

The emulated hardware follows the same plant models as the lock-step runs,
paced to real time.  Ports are those of docs/icd.md and can be changed.
"""

import signal
import sys
import time

from bus import mdb


def add_parser(sub) -> None:
    p = sub.add_parser("emulate", help="run the payload in real time on loopback UDP (space link and lab port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind and send to (default loopback)")
    p.add_argument("--lab-port", type=int, default=mdb.PORT_LAB)
    p.add_argument("--tc-port", type=int, default=mdb.PORT_SPACE_TC)
    p.add_argument("--tm-port", type=int, default=mdb.PORT_SPACE_TM, help="where TM frames are sent")
    p.add_argument("--no-lab", action="store_true", help="flight configuration: no lab port")
    p.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (default: run until stopped)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faults", metavar="FILE", help="inject the faults this JSON file lists (sim/faults.py)")
    p.add_argument("--fault-port", type=int, default=None,
                   help="UDP port for live injection with 'qsat inject' (default 7320; 0: none)")
    p.set_defaults(func=run)


def run(args) -> int:
    from hal.emulated import LabPortLink, UdpLink
    from sim.faults import PORT_FAULTS, FaultInjector, FaultPort, load_schedule
    from sim.lockstep import LockstepRunner

    schedule = []
    if args.faults:
        try:
            schedule = load_schedule(args.faults)
        except ValueError as e:
            print(f"qsat emulate: {e}", file=sys.stderr)
            return 2
    links = {}
    fault_port = None
    port = PORT_FAULTS if args.fault_port is None else args.fault_port
    try:
        links["space"] = UdpLink((args.host, args.tc_port), peer=(args.host, args.tm_port))
        if not args.no_lab:
            links["lab"] = LabPortLink((args.host, args.lab_port))
    except OSError as e:
        for link in links.values():
            link.close()
        print(f"qsat emulate: cannot bind UDP on {args.host}: {e.strerror}", file=sys.stderr)
        return 2
    if port:
        try:
            fault_port = FaultPort(args.host, port)
        except OSError as e:
            if args.fault_port is not None:  # asked for by name: an error
                for link in links.values():
                    link.close()
                print(f"qsat emulate: cannot bind the fault port udp/{port}: {e.strerror}", file=sys.stderr)
                return 2
            print(f"qsat emulate: fault port udp/{port} busy ({e.strerror}): live injection off", file=sys.stderr)
    runner = LockstepRunner(seed=args.seed, links=links, lab_enabled=not args.no_lab)
    runner.faults = FaultInjector.from_rows(schedule)

    def stop():
        if fault_port is not None:
            fault_port.poll(runner)
        return bool(stopping)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print(f"qsat emulate: payload running in real time; TC in on udp/{args.tc_port}, TM frames to "
          f"udp/{args.tm_port}" + ("" if args.no_lab else f", lab port udp/{args.lab_port}")
          + (f", fault injection udp/{port}" if fault_port is not None else ""), flush=True)
    t_end = time.monotonic() + args.duration if args.duration > 0 else None
    try:
        while not stopping and (t_end is None or time.monotonic() < t_end):
            chunk = 10.0 if t_end is None else max(0.01, min(10.0, t_end - time.monotonic()))
            runner.run(chunk, realtime=True, stop=stop)
    except KeyboardInterrupt:
        pass
    finally:
        for link in links.values():
            link.close()
        if fault_port is not None:
            fault_port.close()
    app = runner.app
    print(f"qsat emulate: stopped; {app.link.frames_sent} TM frames sent, {app.link.frames_accepted} TC frames "
          f"accepted, {app.link.lab_packets_in} lab packets in", flush=True)
    return 0
