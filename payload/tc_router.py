"""Telecommand acceptance and routing: a TC packet to the application that owns its APID.

Every packet, from the space link, the lab port or the time-based schedule,
takes this one path: packet-level checks (``bus.pus.TcPacketReader``: length,
type, PUS version, CRC), then the APID, then the application's own checks
(service, subtype or function, length, argument ranges) and handler.  Between
the application's look-up and its checks stands the hazard gate
(``payload.hazard_gate``): a hazardous command without a matching live arm is
refused there with FAIL_NOT_ARMED and never reaches its handler.  A
failure at any step is counted, answered by a verification failure report with
its code, and the packet dropped; nothing a sender puts in a packet can raise
out of here.
"""

from bus import mdb


class TcRouter:
    def __init__(self, services, reader, apps, gate):
        self._services = services
        self._reader = reader  # bus.pus.TcPacketReader (allocation-free parse)
        self._gate = gate  # payload.hazard_gate.HazardGate
        self._apps = {}
        for app in apps:
            self._apps[app.apid] = app
        gate.bind(apps)
        self.packets_rejected = 0  # failed acceptance before an application saw them
        self.packets_routed = 0
        self.internal_errors = 0  # handler raised: a flight bug, counted and survived

    def accept(self, buf, n, offset=0):
        """Process one TC packet; returns 0 or the failure code."""
        tc = self._reader
        code = tc.parse(buf, n, offset)
        if code:
            self.packets_rejected += 1
            if tc.request_id_valid:
                self._services.verification.fail(tc, 1, code)
            self._services.events.raise_args(mdb.event("EV_TC_REJECTED")[0], tc.apid if tc.request_id_valid else 0, code)
            return code
        tc.buf = buf
        app = self._apps.get(tc.apid)
        if app is None:
            return self._reject(tc, mdb.FAIL_ILLEGAL_APID)
        cmd = app.find(tc, buf)
        if isinstance(cmd, int):
            app.cmd_rejected += 1
            return self._reject(tc, cmd)
        gate = self._gate
        try:
            code = gate.check(app, cmd, tc, buf)
        except Exception:  # noqa: BLE001 - a gate bug refuses the command, it never runs unchecked
            code = mdb.FAIL_INTERNAL
        if code == mdb.FAIL_NOT_ARMED or code == mdb.FAIL_INTERNAL:
            app.cmd_rejected += 1
            return self._reject(tc, code)
        self.packets_routed += 1
        try:
            code = app.execute(cmd, tc, buf)
        except Exception:  # noqa: BLE001 - a handler bug must not stop the payload
            self.internal_errors += 1
            app.cmd_rejected += 1
            self._services.verification.fail(tc, 7, mdb.FAIL_INTERNAL)
            code = mdb.FAIL_INTERNAL
        gate.done(code)
        return code

    def _reject(self, tc, code):
        self.packets_rejected += 1
        self._services.verification.fail(tc, 1, code)
        self._services.events.raise_args(mdb.event("EV_TC_REJECTED")[0], tc.apid, code)
        return code
