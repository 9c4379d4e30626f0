"""The on-board ends of the space link and of the lab port.

Uplink (HAL link "space"): CLTUs (start sequence 0xEB90) are BCH-decoded by
``bus.cltu.CltuDecoder``; octets outside any CLTU are passed over while the link
hunts for the next start sequence (counted in ``octets_skipped``).  How a read
is taken depends on the link:

- datagram link (UDP): each datagram is self-contained.  One that begins with
  EB 90 holds one or more CLTUs; any other is a bare TC transfer frame.  A CLTU
  the datagram leaves unfinished (no tail) is abandoned at its end and counted
  as incomplete (``cltu.incomplete``), so the next datagram is parsed on its own.
- stream link (UART): CLTUs may span reads and the decoder's state (inside a
  CLTU, or a trailing EB) carries over.  A read that begins outside a CLTU with
  anything but EB 90 begins with stray octets: those before the first start
  sequence of the read (none when its first octet completes an EB that ended
  the last read) are handed to the frame checks as one bare frame -- so a stray
  run is counted and reported as a rejected frame (normally REJECT_TOO_SHORT or
  REJECT_LENGTH) -- and the CLTU behind them is decoded.

Frames are checked by ``bus.tc_frame``
(SCID, VCID, length, FECF); with ``tc_auth`` (the default of the payload
application, and the flight configuration) the data field of every Type-AD/BD
frame must then pass the SDLS-style authentication of ``bus.sdls`` (security
header, anti-replay sequence number, HMAC-SHA256 MAC; keys from
``payload.key_store``) -- a frame that fails is counted, reported by
EV_SEC_REJECTED (at most one a second) and dropped *before* FARM-1 sees it, so
it neither reaches the router nor moves V(R) (docs/security.md).  Type-BC
frames (Unlock, Set V(R)) are not secured.  Then FARM-1 decides (``bus.farm``); the packets in
an accepted frame's data field go to the TC router, every octet of it: a
packet its length field says runs past the end, and a tail after the last
whole packet too short to hold one (< 7 octets, or a whole data field that
short), go as they are, and the router counts and reports them (INCOMPLETE,
or a failure report when 4 octets give a request ID).  The FARM's buffer is
released once they have been processed, so the CLCW's Wait flag reflects a
real buffer.

Downlink: every TM packet is queued on the real-time virtual channel of
``bus.tm_frame.TmFrameBuilder``; ``poll`` sends up to ``frames_per_poll``
frames, each with the FARM's CLCW in its OCF, and at least one frame (idle if
nothing is queued) after any uplink activity and once a second, so the ground
always has a fresh CLCW without any enable command.

Playback (``store``, a ``payload.packet_store.PacketStore``): while a playback
runs, each poll first tops up the playback virtual channel (VC 1, two frames
of queue) with stored packets, unchanged, as far as its free space goes; the
builder's strict priority sends real-time (VC 0) frames first, so playback
takes at most two of the ``frames_per_poll`` frames and only what real-time
data leaves.  On the lab port each played packet is one datagram (at most
``PLAYBACK_LAB_PER_POLL`` a poll when there is no space link).  When the store
has nothing more the playback ends (EV_STORE_PLAYBACK_END).

Lab port (HAL link "lab"): raw space packets in, one per datagram, and every
TM packet out, one per datagram; no frames, no COP-1, no authentication: an
umbilical test port.  ``lab_enabled`` False ignores it entirely.  The flight
configuration is ``lab_enabled=False, tc_auth=True`` (``FLIGHT_CONFIG``;
housekeeping reports both as lab_port_enabled and sec_auth_required).
"""

from bus import mdb
from bus.cltu import CltuDecoder
from bus.farm import Farm1, ACCEPT_AD, ACCEPT_BD, DISCARD_BASE
from bus.sdls import SdlsReceiver, SEC_OK
from bus.spacepacket import packet_len_of, MIN_PACKET_LEN
from bus.tc_frame import TcFrameReader, BC_NONE
from bus.tm_frame import TmFrameBuilder
from bus.compat import const
from hal.interface import ticks_diff
from payload.packet_store import END_DONE

RX_BUF_LEN = const(2048)
KEEPALIVE_MS = const(1000)  # longest time without a downlink frame
PLAYBACK_LAB_PER_POLL = const(16)  # played packets a poll on the lab port when there is no space link
FLIGHT_CONFIG = {"lab_enabled": False, "tc_auth": True}  # LinkStack / PayloadApp keywords of a flight build


class LinkStack:
    def __init__(self, hal, router, tm_out, events=None, lab_enabled=True, frames_per_poll=8, keys=None,
                 tc_auth=None):
        self._clock = hal.clock
        self._space = hal.links.get("space")
        self._lab = hal.links.get("lab") if lab_enabled else None
        self._router = router
        self._events = events  # payload.s5_events.EventService: EV_FRAME_REJECTED, at most one a second
        self._ev_frame = mdb.event("EV_FRAME_REJECTED")[0]
        self._last_frame_event_ms = None
        self._ev_sec = mdb.event("EV_SEC_REJECTED")[0]
        self._last_sec_event_ms = None
        # keys: payload.key_store.KeyStore (None: no authentication possible); tc_auth defaults to "keys given"
        self.sdls = SdlsReceiver(keys) if keys is not None else None
        self.tc_auth = (keys is not None) if tc_auth is None else bool(tc_auth)
        if self.tc_auth and keys is None:
            raise ValueError("tc_auth needs a key store")
        self.lab_enabled = lab_enabled
        self.frames_per_poll = frames_per_poll
        self.cltu = CltuDecoder(max_frame_len=mdb.TC_FRAME_MAX_LEN)
        self.frame_reader = TcFrameReader(mdb.SPACECRAFT_ID, vcids=(mdb.TC_VCID,), max_len=mdb.TC_FRAME_MAX_LEN)
        self.farm = Farm1(mdb.TC_VCID, mdb.FARM_WINDOW)
        stream = self._space is not None and self._space.is_stream
        self._space_stream = stream
        self.builder = TmFrameBuilder(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN, vc_slots=(6, 2), asm=stream)  # 6.6 kB real-time queue: a second of HK and events
        self._rx = bytearray(RX_BUF_LEN)
        self._lab_stream = self._lab is not None and self._lab.is_stream
        self._lab_buf = bytearray(RX_BUF_LEN)  # stream lab port: bytes of an incomplete packet
        self._lab_fill = 0
        self._last_tx_ms = self._clock.ticks_ms()
        self._uplink_seen = False  # a TC frame arrived since the last downlink frame
        self.frames_accepted = 0  # TC frames FARM-1 accepted (AD and BD) or executed (BC)
        self.frames_rejected = 0  # TC frames refused by the frame checks or FARM-1
        self.frames_sent = 0  # TM frames written to the space link
        self.octets_skipped = 0  # space link octets outside any CLTU passed over while hunting EB 90
        self.lab_packets_in = 0
        self.packets_dropped = 0  # TM packets refused by a full VC queue
        self.store = None  # payload.packet_store.PacketStore played back on VC 1 (attach_store)
        self._play_buf = None  # one played-back packet
        tm_out.sinks.append(self._queue_space)
        if self._lab is not None:
            tm_out.sinks.append(self._send_lab)

    @property
    def packets_sent(self):
        return self.builder.queued[mdb.VC_REALTIME]

    def attach_store(self, store, max_packet_len):
        """Play ``store`` back on VC 1 and the lab port; ``max_packet_len``: longest TM packet."""
        self.store = store
        self._play_buf = bytearray(max_packet_len)

    # -- downlink -------------------------------------------------------------------
    def _play(self):
        """Top up the playback VC (and the lab port) from the store; end the playback when it has no more."""
        s = self.store
        b = self.builder
        space = self._space is not None
        lab = self._lab
        if not space and lab is None:
            return  # nowhere to play to: the records stay unplayed
        budget = PLAYBACK_LAB_PER_POLL
        while space or budget:
            n = s.next_len()
            if n == 0:
                s.finish(END_DONE)
                return
            if space and n > b.free_bytes(mdb.VC_PLAYBACK):
                return  # VC 1 full: the rest goes on the next polls
            n = s.take(self._play_buf)
            if space:
                b.queue_packet(mdb.VC_PLAYBACK, self._play_buf, n)
            if lab is not None:
                lab.write(memoryview(self._play_buf)[:n])
            budget -= 1

    def _queue_space(self, buf, n):
        if not self.builder.queue_packet(mdb.VC_REALTIME, buf, n):
            self.packets_dropped += 1
            return False
        return True

    def _send_lab(self, buf, n):
        self._lab.write(memoryview(buf)[:n])
        return True

    def _send_frames(self):
        if self._space is None:
            return
        b = self.builder
        sent = 0
        now = self._clock.ticks_ms()
        keepalive = self._uplink_seen or ticks_diff(now, self._last_tx_ms) >= KEEPALIVE_MS
        while sent < self.frames_per_poll and (b.pending(mdb.VC_REALTIME) or b.pending(mdb.VC_PLAYBACK)
                                                or (keepalive and sent == 0)):
            self._space.write(b.next_frame(self.farm.clcw()))
            sent += 1
        if sent:
            self.frames_sent += sent
            self._last_tx_ms = now
            self._uplink_seen = False

    # -- uplink ---------------------------------------------------------------------
    def _reject(self, reason):
        """Count a rejected frame and report it (events throttled to one a second)."""
        self.frames_rejected += 1
        if self._events is None:
            return
        now = self._clock.ticks_ms()
        if self._last_frame_event_ms is None or ticks_diff(now, self._last_frame_event_ms) >= 1000:
            self._last_frame_event_ms = now
            self._events.raise_args(self._ev_frame, reason)

    def _sec_reject(self, code):
        """Count a frame that failed authentication and report it (throttled to one a second)."""
        self.frames_rejected += 1
        if self._events is None:
            return
        now = self._clock.ticks_ms()
        if self._last_sec_event_ms is None or ticks_diff(now, self._last_sec_event_ms) >= 1000:
            self._last_sec_event_ms = now
            self._events.raise_args(self._ev_sec, code, self.sdls.spi, self.sdls.sn)

    def _frame(self, buf, n, offset):
        r = self.frame_reader
        code = r.parse(buf, n, offset)
        if code:
            self._reject(code)  # bus.tc_frame REJECT_* (1..10)
            return
        self._uplink_seen = True
        if self.tc_auth and r.bc_command == BC_NONE:  # Type-AD/BD: authenticate before FARM-1
            s = self.sdls
            code = s.verify(buf, offset, r.data_offset, r.data_len)
            if code != SEC_OK:
                self._sec_reject(code)  # bus.sdls SEC_* (32..35)
                return
            r.data_offset = s.data_offset
            r.data_len = s.data_len
        verdict = self.farm.process(r)
        if verdict != ACCEPT_AD and verdict != ACCEPT_BD:
            if verdict < DISCARD_BASE:  # BC_UNLOCK_DONE / BC_SET_VR_DONE
                self.frames_accepted += 1
            else:
                self._reject(verdict)  # bus.farm DISCARD_* (16..22)
            return
        self.frames_accepted += 1
        pos = r.data_offset
        end = pos + r.data_len
        while pos < end:  # a data field may block several packets
            plen = end - pos
            if plen >= MIN_PACKET_LEN:
                plen = packet_len_of(buf, pos)
                if plen > end - pos:
                    plen = end - pos  # truncated: the router reports it
            self._router.accept(buf, plen, pos)  # a tail < MIN_PACKET_LEN too: the router reports it
            pos += plen
        if verdict == ACCEPT_AD:
            self.farm.buffer_released()

    def _space_in(self, n):
        """One read of the space link: CLTUs, a bare frame (datagram), stray octets (stream)."""
        buf = self._rx
        c = self.cltu
        i = 0
        if not c.in_cltu and not (n >= 2 and buf[0] == 0xEB and buf[1] == 0x90):
            if not self._space_stream:
                self._frame(buf, n, 0)  # a datagram that is not a CLTU: a bare frame
                return
            # stream: the octets before the start sequence are stray; they go to the frame checks as
            # one bare frame (so a stray run is counted and reported as a rejected frame), then the
            # CLTU behind them is decoded.  None when the first octet completes an EB of the last read.
            i = self._hunt(buf, 0, n)
            lead = i - 2 if c.in_cltu else n
            self._frame(buf, lead if lead > 0 else 0, 0)
        while i < n:
            if c.in_cltu:
                flen = c.feed(buf[i])
                i += 1
                if flen:
                    self._frame(c.frame, flen, 0)
            else:
                i = self._hunt(buf, i, n)  # after a CLTU: octets up to the next start sequence
        if not self._space_stream:  # a datagram is self-contained: it ends any CLTU it left open
            if c.in_cltu:
                c.incomplete += 1  # as bus.cltu counts a CLTU that ended before its frame did
            c.reset()

    def _hunt(self, buf, i, n):
        """Feed ``buf[i:n]`` to the CLTU decoder until a start sequence; return the index after it.
        The octets passed over are counted in ``octets_skipped``."""
        c = self.cltu
        start = i
        while i < n:
            c.feed(buf[i])
            i += 1
            if c.in_cltu:
                # the start sequence is not skipped; -1 when its EB ended the last read (counted then)
                self.octets_skipped += i - start - 2
                return i
        self.octets_skipped += i - start
        return i

    def poll(self):
        """Take what the links received, run it through the stack, send frames (comms group)."""
        space = self._space
        if space is not None:
            n = space.readinto(self._rx)
            while n:
                self._space_in(n)
                n = space.readinto(self._rx)
        lab = self._lab
        if lab is not None:
            n = lab.readinto(self._rx)
            while n:
                if self._lab_stream:
                    self._lab_bytes(n)
                else:
                    self.lab_packets_in += 1
                    self._router.accept(self._rx, n, 0)
                n = lab.readinto(self._rx)
        if self.store is not None and self.store.mode:
            self._play()
        self._send_frames()

    def _lab_bytes(self, n):
        """Stream lab port: split packets by their length field; skip an octet on nonsense."""
        buf = self._lab_buf
        i = 0
        while i < n:
            take = n - i
            room = len(buf) - self._lab_fill
            if take > room:
                take = room
            buf[self._lab_fill:self._lab_fill + take] = self._rx[i:i + take]
            self._lab_fill += take
            i += take
            while self._lab_fill >= 6:
                plen = packet_len_of(buf, 0)
                if plen > mdb.TC_FRAME_MAX_LEN or (buf[0] & 0xF8) != 0x18:  # not version 0, TC, PUS
                    buf[0:self._lab_fill - 1] = buf[1:self._lab_fill]  # resynchronise
                    self._lab_fill -= 1
                    continue
                if self._lab_fill < plen:
                    break
                self.lab_packets_in += 1
                self._router.accept(buf, plen, 0)
                buf[0:self._lab_fill - plen] = buf[plen:self._lab_fill]
                self._lab_fill -= plen
