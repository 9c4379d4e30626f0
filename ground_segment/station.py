"""``qsat ground``: the ground station service that owns the space link.

Downlink: TM frames arrive on UDP (7303); each is checked (length, SCID, FECF)
and split into packets by ``bus.tm_frame.TmFrameReader`` (VC frame-count gaps
counted), the CLCW of its OCF goes to FOP-1, and each packet is decoded into
calibrated parameters, events and verification reports
(``ground_segment.mdb_decode``), checked against its limits with persistence
(``ground_segment.limits``) and archived (``ground_segment.archive``) with the
raw frame and packet.  Packets of the playback VC (VC 1, the payload's packet
store) are archived with source ``playback`` but not shown live nor matched
against commands (they are history); a packet the archive already holds (same
APID, sequence count, packet time and CRC, whichever VC brought it) is refused
and counted in ``duplicates`` (docs/packet_store.md).

Uplink: operator commands become PUS TCs, FOP-1 (``bus.fop``) wraps them in
Type-AD frames with sequence numbers and retransmits them on T1 until the CLCW
acknowledges them; each transmission is then authenticated (``bus.sdls``:
security header with SPI and a fresh anti-replay sequence number, HMAC-SHA256
MAC; keys and counters from the key file, ``ground_segment.sdls``, default
``ground_keys.json``, created with the laboratory keys on first use) and goes
out as a CLTU (``bus.cltu``) on UDP (7302).  ``authenticate=False`` sends
plain frames (a payload built without ``tc_auth``).  An EV_SEC_REJECTED event
naming the sequence number of a command's frame ends that command at once
with the reason ("rejected on board: MAC check failed (SPI 1)"); the station
keeps its sequence numbers above the board's (HK sec_last_sn_*); an EV_SEC_REJECTED
for a replayed SN (a duplicated or late copy) does not end the command.  The AD
service starts by itself on the first CLCW, adopting the FARM's V(R); after an
alert it restarts the same way (with Unlock after a lockout, never from a CLCW
older than the FOP's NN(R)) and hands FOP-1 again, in order and with their N(S),
the commands the FARM had not accepted.  Transmission limit 10 (docs/ground.md).

Operators' tools connect over TCP (7310, loopback) and exchange JSON lines:

- ``{"op": "send", "command": NAME, "args": {...}, "ack": 15, "timeout_s": 10}``:
  the reply is ``{"event": "sent", "apid", "seq_count"}``, then one
  ``{"event": "stage", "stage", "success", "code", "reason"}`` per verification
  report, then ``{"event": "done", "success", "reason"}``; a failure's reason
  names the limit violated, from the report's code and argument index and the
  command as sent (``commanding.failure_reason``);
- ``{"op": "subscribe"}``: every decoded parameter sample, event and limit
  transition as it arrives (``{"event": "param" | "tm_event" | "limit", ...}``);
- ``{"op": "status"}``: link counters, FOP-1 state, last CLCW.

A bad frame, packet or request is counted and answered, never fatal.
"""

import asyncio
import collections
import json
import sys
import time

from bus import clcw as clcw_mod
from bus import fop as fop_mod
from bus import mdb
from bus.cltu import cltu_encode
from bus.tm_frame import TmFrameReader
from ground_segment.commanding import CommandError, build_tc, failure_reason
from bus.sdls import SEC_REPLAY
from ground_segment.sdls import DEFAULT_KEY_FILE, FrameSigner, GroundKeys, rejection_text

STAGES = {1: "acceptance", 3: "start", 5: "progress", 7: "completion"}
# FOP-1 transmission limit of the station (bus.fop's default is 3).  With 20 % frame loss each way a
# frame and its acknowledgement both get through with p = 0.64; a limit of 3 alerts on 0.36**3 = 4.7 %
# of frame episodes (11-29 alerts per 2,000 commands), 10 on 0.36**10 = 3.7e-5 (docs/ground.md).
TRANSMISSION_LIMIT = 10


class PendingCommand:
    """A command sent and its verification so far."""

    def __init__(self, name, args, apid, seq_count, ack, timeout_s, row_id, writer):
        self.name = name
        self.args = args
        self.apid = apid
        self.seq_count = seq_count
        self.ack = ack
        self.deadline = time.monotonic() + timeout_s
        self.row_id = row_id  # archive command history row
        self.writer = writer  # the requesting tool's stream (None: fire and forget)
        self.done = False
        self.stages = 0  # verification reports received
        self.sec_reject = None  # reason of an EV_SEC_REJECTED seen for one of its frames


class GroundStation:
    def __init__(self, archive_path="ground.sqlite", host="127.0.0.1", tm_port=mdb.PORT_SPACE_TM,
                 tc_port=mdb.PORT_SPACE_TC, ops_port=mdb.PORT_GROUND_OPS, use_cltu=True, persistence=2,
                 key_file=DEFAULT_KEY_FILE, authenticate=True, spi=None, transmission_limit=TRANSMISSION_LIMIT):
        from ground_segment.archive import Archive
        from ground_segment.limits import LimitMonitor
        from ground_segment.mdb_decode import Decoder

        self.host = host
        self.tm_port = tm_port
        self.tc_port = tc_port
        self.ops_port = ops_port
        self.use_cltu = use_cltu
        self.archive = Archive(archive_path)
        self.decoder = Decoder()
        self.limits = LimitMonitor(persistence=persistence)
        self.frames = TmFrameReader(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN)
        self.fop = fop_mod.Fop1(mdb.SPACECRAFT_ID, mdb.TC_VCID, send=self._uplink,
                                transmission_limit=transmission_limit)
        self.fop.on_alert = self._on_alert
        # Commands handed to FOP-1 and not yet accepted by the FARM, oldest first: [TC packet, PendingCommand];
        # the first one's frame carries N(S) = _base_ns (the FOP's NN(R)).  After an alert (queues purged)
        # the ones from the restart CLCW's V(R) on are handed to the FOP again (_resend), keeping their N(S).
        self._unacked = collections.deque()
        self._base_ns = 0
        self._alert_vs = None  # V(S) when the last alert purged the FOP (None: no recovery pending)
        self._resend = collections.deque()  # [TC packet, PendingCommand] waiting to go to the FOP again
        self.clcw = None  # last CLCW word
        # APID -> next TC sequence count, continuing the archive's history across restarts
        self.seq = {apid: (self.archive.last_seq_count(apid) + 1) & 0x3FFF for apid, _, _ in mdb.APPLICATIONS}
        self.pending: dict[tuple[int, int], PendingCommand] = {}
        self.subscribers: set[asyncio.StreamWriter] = set()
        self.counters = {"frames": 0, "frames_bad": 0, "packets": 0, "packets_bad": 0, "unknown": 0,
                         "tc_frames_sent": 0, "commands": 0, "alerts": 0, "restarts": 0, "resent": 0,
                         "resend_dropped": 0, "stale_clcws": 0, "playback": 0, "duplicates": 0}
        self.alerts: list[str] = []
        self._t0 = time.monotonic()
        self._tc_sock = None
        self._needs_unlock = False
        # TC authentication (docs/security.md)
        self.keys = GroundKeys(key_file) if authenticate else None
        self.signer = FrameSigner(self.keys, spi) if authenticate else None
        self._sn_request: dict[int, tuple[int, int]] = {}  # SN of a signed frame -> (APID, seq count) it carried
        self.sec_rejections: list[str] = []  # reasons from EV_SEC_REJECTED, latest last
        self.counters["tc_frames_signed"] = 0
        self.counters["sec_rejections"] = 0

    # -- time ------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000)

    # -- uplink ----------------------------------------------------------------------
    def _uplink(self, frame: bytes) -> None:
        if self.signer is not None:
            plain = frame
            frame = self.signer.sign(plain)
            sn = self.signer.last_sn
            if sn is not None:
                self.counters["tc_frames_signed"] += 1
                if len(plain) >= 12:  # the packet's request ID, to tie a rejection to its command
                    self._sn_request[sn] = (((plain[6] & 0x07) << 8) | plain[7], ((plain[8] & 0x3F) << 8) | plain[9])
                if len(self._sn_request) > 4096:
                    for k in sorted(self._sn_request)[:2048]:
                        del self._sn_request[k]
        data = cltu_encode(frame) if self.use_cltu else bytes(frame)
        if self._tc_sock is not None:
            self._tc_sock.sendto(data, (self.host, self.tc_port))
        self.counters["tc_frames_sent"] += 1

    def _on_alert(self, reason) -> None:
        self.counters["alerts"] += 1
        self.alerts.append(str(reason))
        self.alerts = self.alerts[-20:]
        self._needs_unlock = reason == fop_mod.ALERT_LOCKOUT
        # Both FOP queues are purged (232.1-B-2 §5.2.2.7); the frames with N(S) from NN(R) to V(S)-1 may or
        # may not have reached the FARM: the CLCW that restarts the service tells (_start_ad).
        self._alert_vs = self.fop.vs
        self._broadcast({"event": "alert", "reason": str(reason), "text": fop_mod.ALERT_TEXT.get(reason, "")})

    def _start_ad(self, word: int) -> None:
        """(Re)start the AD service from a CLCW: adopt the FARM's V(R); after an alert, hand the FOP again
        the commands the FARM had not accepted (N(S) >= V(R)), in order, so they keep their N(S)."""
        now = self._now_ms()
        vr = clcw_mod.report_value(word)
        if self._alert_vs is not None:
            behind = (self._base_ns - vr) & 0xFF
            if 0 < behind < 128:  # V(R) behind NN(R): an old CLCW (re-ordered TM); V(R) never decreases
                self.counters["stale_clcws"] += 1
                return
            taken = (vr - self._base_ns) & 0xFF  # purged frames the FARM had accepted
            sent = (self._alert_vs - self._base_ns) & 0xFF
            if taken > sent:  # V(R) beyond anything this station sent (another station commanded?)
                taken = len(self._unacked)  # cannot tell: re-send nothing, the commands time out
            for _ in range(min(taken, len(self._unacked))):
                self._unacked.popleft()
            for entry in self._unacked:
                if entry[1].done:  # already ended on the ground (timeout, rejection): not sent again
                    self.counters["resend_dropped"] += 1
                else:
                    self._resend.append(entry)
            self._unacked.clear()
            self._alert_vs = None
            self.counters["restarts"] += 1
        self._base_ns = vr
        self.fop.set_vs(vr)
        if clcw_mod.lockout(word) or self._needs_unlock:
            self.fop.initiate_ad(now, fop_mod.INIT_WITH_UNLOCK)
            self._needs_unlock = False
        else:
            self.fop.initiate_ad(now, fop_mod.INIT_WITHOUT_CLCW)
        self._pump()

    def _pump(self) -> None:
        """Hand the FOP the commands to re-send after an alert, as its window and wait queue allow."""
        fop = self.fop
        while self._resend and fop.state <= fop_mod.RETRANSMIT_WITH_WAIT and fop.wait_queue is None:
            raw, cmd = self._resend[0]
            if fop.transmit_ad(raw, self._now_ms()) == fop_mod.AD_REJECTED:
                break
            self._resend.popleft()
            self._unacked.append([raw, cmd])
            self.counters["resent"] += 1

    def _acknowledged(self) -> None:
        """Drop the commands the CLCW just acknowledged (NN(R) moved on) from the unaccepted list."""
        n = (self.fop.nnr - self._base_ns) & 0xFF
        for _ in range(min(n, len(self._unacked))):
            self._unacked.popleft()
        self._base_ns = self.fop.nnr

    def service(self) -> None:
        """One pass of the main loop: T1, re-sends after an alert, command timeouts."""
        self.fop.tick(self._now_ms())
        self._pump()
        self._expire()

    def send_command(self, name, args, ack=0b1111, timeout_s=10.0, writer=None) -> PendingCommand:
        """Build, archive and hand a command to FOP-1; raises CommandError with the reason."""
        from ground_segment.commanding import encode

        new_key = None
        if name.upper() == "SEC_KEY_LOAD" and "key" in args:  # wrap the new key under the KEK here
            if self.keys is None:
                raise CommandError("SEC_KEY_LOAD key=...: the station runs without a key file (--no-auth)")
            from ground_segment.sdls import KeyFileError, key_load_args
            try:
                new_key = bytes.fromhex(str(args["key"]))
                spi = int(str(args.get("spi", "")), 0)
                args = key_load_args(self.keys, spi, new_key)
            except (ValueError, KeyFileError) as e:
                raise CommandError(f"SEC_KEY_LOAD: {e}") from None
        apid = encode(name, args)[0]
        seq = self.seq.get(apid, 0)
        raw = build_tc(name, args, seq, ack)
        if self.fop.state == fop_mod.INITIAL:
            if self._alert_vs is not None:
                raise CommandError("FOP-1 alert: the AD service restarts on the next CLCW")
            raise CommandError("space link not established: no CLCW received from the payload yet")
        if self._resend:
            raise CommandError(f"FOP-1 busy: re-sending {len(self._resend)} command(s) after an alert")
        result = self.fop.transmit_ad(raw, self._now_ms())
        if result == fop_mod.AD_REJECTED:
            raise CommandError(f"FOP-1 refused the frame (state {fop_mod.STATE_NAMES[self.fop.state]}, window full)")
        self.seq[apid] = (seq + 1) & 0x3FFF
        row = self.archive.add_command(name.upper(), args, apid, seq, time.time())
        cmd = PendingCommand(name.upper(), args, apid, seq, ack, timeout_s, row, writer)
        cmd.new_key = new_key
        self.pending[(apid, seq)] = cmd
        self._unacked.append([raw, cmd])
        self.counters["commands"] += 1
        return cmd

    # -- downlink --------------------------------------------------------------------
    def on_frame(self, frame: bytes) -> None:
        t_rx = time.time()
        before_bad = self._bad_frames()
        packets = self.frames.read(frame)
        if self._bad_frames() != before_bad:
            self.counters["frames_bad"] += 1
            return
        self.counters["frames"] += 1
        self.archive.add_frame(t_rx, frame)
        word = self.frames.clcw
        if word is not None:
            self.clcw = word
            if self.fop.state == fop_mod.INITIAL:
                self._start_ad(word)
            else:
                self.fop.clcw(word, self._now_ms())
                self._acknowledged()
                self._pump()
        for vc, pkt in packets:
            self.on_packet(pkt, t_rx, "playback" if vc == mdb.VC_PLAYBACK else "realtime")

    def _bad_frames(self) -> int:
        f = self.frames
        return f.length_errors + f.version_errors + f.scid_errors + f.crc_errors

    def on_packet(self, pkt: bytes, t_rx: float, source: str = "realtime") -> None:
        try:
            records = self.decoder.decode(pkt)
        except Exception as e:  # noqa: BLE001 - a bad packet is counted, never fatal
            name = type(e).__name__
            self.counters["unknown" if name == "UnknownPacket" else "packets_bad"] += 1
            self.archive.add_packet(t_rx, pkt, source)
            return
        if self.archive.add_packet(t_rx, pkt, source) is None:  # already archived: real time or played
            self.counters["duplicates"] += 1
            return
        self.counters["packets"] += 1
        self.archive.add_records(records, t_rx, self.limits)
        if source == "playback":  # history: archived, not shown live nor matched against commands
            self.counters["playback"] += 1
            return
        for rec in records:
            self._dispatch(rec)

    def _security_event(self, rec) -> None:
        """EV_SEC_REJECTED: end the command whose frame it names, with the reason."""
        args = rec.args
        reason = rejection_text(int(args.get("reason", 0)), int(args.get("spi", 0)))
        self.counters["sec_rejections"] += 1
        self.sec_rejections = (self.sec_rejections + [reason])[-20:]
        req = self._sn_request.get(int(args.get("sn", -1)))
        cmd = self.pending.get(req) if req is not None else None
        if cmd is None:  # throttled or not ours: mark the commands still waiting for acceptance
            for c in self.pending.values():
                if c.stages == 0:
                    c.sec_reject = reason
            return
        cmd.sec_reject = reason
        # A replayed SN names a copy of one of our transmissions that arrived after a later one (the link
        # duplicated or re-ordered it, or COP-1 retransmitted): another copy of the command may well have been
        # accepted, so it does not end the command (the reason is kept for its timeout message).
        if cmd.stages == 0 and int(args.get("reason", 0)) != SEC_REPLAY:
            self._finish(cmd, False, reason)

    def _dispatch(self, rec) -> None:
        kind = type(rec).__name__
        if kind == "Sample" and rec.name.startswith("sec_last_sn_") and self.keys is not None:
            self.keys.ensure_sn_above(int(rec.name[-1]), int(rec.raw))
        if kind == "Event" and rec.name == "EV_SEC_REJECTED":
            self._security_event(rec)
        if kind == "Sample":
            state, transition = self.limits.check(rec.name, rec.raw)
            self._broadcast({"event": "param", "name": rec.name, "raw": rec.raw, "eng": rec.eng,
                             "unit": rec.unit, "state": state, "t": rec.t_unix})
            if transition is not None:
                self._broadcast({"event": "limit", "name": rec.name, "from": transition[1], "to": transition[2],
                                 "raw": rec.raw})
        elif kind == "Event":
            self._broadcast({"event": "tm_event", "id": rec.event_id, "name": rec.name, "severity": rec.severity,
                             "args": rec.args, "text": rec.text, "t": rec.t_unix})
        elif kind == "Verification":
            self._verification(rec)

    def _verification(self, rec) -> None:
        cmd = self.pending.get((rec.apid, rec.seq_count))
        if cmd is None:
            return
        stage = rec.stage
        cmd.stages += 1
        reason = rec.reason if rec.success else failure_reason(cmd.name, cmd.args, rec.code, rec.arg_index)
        self.archive.add_stage(cmd.row_id, stage, rec.success, rec.code, reason, time.time())
        msg = {"event": "stage", "stage": stage, "success": rec.success, "code": rec.code, "reason": reason}
        self._reply(cmd, msg)
        if not rec.success:
            self._finish(cmd, False, f"{stage} failed: {reason}")
        elif stage == "completion":
            if getattr(cmd, "new_key", None) is not None:  # the board uses it now: so does the key file
                spi = int(cmd.args["spi"])
                self.keys.set_key(spi, cmd.new_key)
                if self.signer is not None and self.signer.spi == spi:
                    self.signer = FrameSigner(self.keys, spi)
            self._finish(cmd, True, "completed")

    def _finish(self, cmd: PendingCommand, success: bool, reason: str) -> None:
        if cmd.done:
            return
        cmd.done = True
        self.archive.finish_command(cmd.row_id, "completed" if success else reason)
        self._reply(cmd, {"event": "done", "success": success, "reason": reason})
        self.pending.pop((cmd.apid, cmd.seq_count), None)

    def _expire(self) -> None:
        now = time.monotonic()
        for cmd in list(self.pending.values()):
            if now > cmd.deadline:
                expected = "completion" if cmd.ack & 0b1000 else "acceptance"
                why = f"timeout: no {expected} report within the time allowed"
                if cmd.sec_reject is not None and cmd.stages == 0:
                    why += f"; {cmd.sec_reject}"
                self._finish(cmd, False, why)

    # -- operators --------------------------------------------------------------------
    def _reply(self, cmd: PendingCommand, msg: dict) -> None:
        if cmd.writer is not None and not cmd.writer.is_closing():
            cmd.writer.write((json.dumps(msg) + "\n").encode())

    def _broadcast(self, msg: dict) -> None:
        line = (json.dumps(msg) + "\n").encode()
        for w in list(self.subscribers):
            if w.is_closing():
                self.subscribers.discard(w)
            else:
                w.write(line)

    def status(self) -> dict:
        c = self.clcw
        return {
            "event": "status", **self.counters,
            "vc_gaps": self.frames.vc_gaps, "fop_state": fop_mod.STATE_NAMES[self.fop.state],
            "vs": self.fop.vs, "clcw": None if c is None else {
                "report_value": clcw_mod.report_value(c), "lockout": clcw_mod.lockout(c),
                "wait": clcw_mod.wait(c), "retransmit": clcw_mod.retransmit(c)},
            "alerts": self.alerts[-5:], "pending": len(self.pending), "resend_queue": len(self._resend),
            "tc_auth": None if self.signer is None else {"spi": self.signer.spi, "key_file": self.keys.path},
            "sec_rejections_last": self.sec_rejections[-5:],
        }

    async def _ops_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    req = json.loads(line)
                    op = req.get("op")
                except (ValueError, AttributeError):
                    writer.write(b'{"event": "error", "reason": "request is not a JSON object"}\n')
                    continue
                if op == "send":
                    try:
                        cmd = self.send_command(req.get("command", ""), req.get("args") or {},
                                                int(req.get("ack", 0b1111)), float(req.get("timeout_s", 10.0)),
                                                writer)
                    except (CommandError, ValueError, TypeError) as e:
                        writer.write((json.dumps({"event": "done", "success": False, "reason": str(e)}) + "\n").encode())
                    else:
                        writer.write((json.dumps({"event": "sent", "command": cmd.name, "apid": cmd.apid,
                                                  "seq_count": cmd.seq_count}) + "\n").encode())
                elif op == "subscribe":
                    self.subscribers.add(writer)
                    writer.write(b'{"event": "subscribed"}\n')
                elif op == "status":
                    writer.write((json.dumps(self.status()) + "\n").encode())
                else:
                    writer.write((json.dumps({"event": "error", "reason": f"unknown op {op!r}"}) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.subscribers.discard(writer)
            writer.close()

    # -- main loop --------------------------------------------------------------------
    async def serve(self, stop: asyncio.Event | None = None) -> None:
        loop = asyncio.get_running_loop()
        station = self

        class TmProtocol(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                try:
                    station.on_frame(data)
                except Exception as e:  # noqa: BLE001 - the service never stops on a bad frame
                    station.counters["frames_bad"] += 1
                    print(f"qsat ground: frame dropped: {type(e).__name__}: {e}", file=sys.stderr)

        tm_transport, _ = await loop.create_datagram_endpoint(TmProtocol, local_addr=(self.host, self.tm_port))
        tc_transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, family=2)
        self._tc_sock = tc_transport
        server = await asyncio.start_server(self._ops_client, self.host, self.ops_port)
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                self.service()
                self.archive.commit()
                try:
                    await asyncio.wait_for(stop.wait(), 0.05)
                except asyncio.TimeoutError:
                    pass
        finally:
            server.close()
            tm_transport.close()
            tc_transport.close()
            self.archive.commit()
