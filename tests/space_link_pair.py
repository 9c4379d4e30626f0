"""The real ground station and the real payload back to back over their space link (test support).

``SpaceLinkPair`` builds the payload application on ``hal.fake`` and a
``ground_segment.station.GroundStation`` in one process: the CLTUs the station
sends reach the payload's space link, the TM frames the payload writes reach
``GroundStation.on_frame``, each direction either directly or through a
``sim.link_impairments.LinkImpairments`` channel (loss, bit errors, duplication,
re-ordering, outages, rate).  Time is the HAL's virtual clock; nothing sleeps.
With ``virtual_station=True`` the station's millisecond clock (FOP-1's T1) is
that virtual clock too and ``exchange`` runs the station's service loop.

Used by tests/test_sdls_ground.py, tests/test_station_cop1_recovery.py and
tests/test_packet_store.py.
"""

import json

from ground_segment.station import GroundStation
from hal.fake import FakeHal
from payload.app import PayloadApp


class Writer:
    """Stands in for an operator tool's stream: the station's JSON lines, decoded."""

    def __init__(self):
        self.lines = []

    def write(self, data):
        self.lines.append(json.loads(data))

    def is_closing(self):
        return False


class SpaceLinkPair:
    """A payload and a ground station joined by their space links (see the module docstring)."""

    def __init__(self, tmp_path, uplink=None, downlink=None, virtual_station=False, key_file=None, app_kw=None,
                 before_start=None, archive_path=None, **station_kw):
        self.now_ms = 0  # virtual time since the start (ms)
        self.uplink = uplink  # LinkImpairments for CLTUs, or None: delivered at the next exchange
        self.downlink = downlink  # LinkImpairments for TM frames, or None: delivered at once
        self.virtual_station = virtual_station
        self.hal = FakeHal()
        self.app = PayloadApp(self.hal, **(app_kw or {}))
        if before_start is not None:
            before_start(self.app)  # e.g. sequence counts near the wrap before the first packet
        self.app.start()
        self.space = self.hal.links["space"]
        self.gs = GroundStation(archive_path or str(tmp_path / "ground.sqlite"),
                                key_file=str(key_file or tmp_path / "keys.json"), **station_kw)
        if virtual_station:
            self.gs._now_ms = lambda: self.now_ms  # FOP-1 runs on the virtual clock
        self.gs._tc_sock = self  # the station's uplink socket: sendto below
        self._cltus = []  # sent by the station, not yet delivered (no uplink channel)

    def sendto(self, data, addr):
        """The station's TC socket: a CLTU into the uplink."""
        if self.uplink is not None:
            self.uplink.send(bytes(data), self.now_ms)
        else:
            self._cltus.append(bytes(data))

    def exchange(self):
        """Deliver the uplink, run the payload once, carry its frames down; run the station's loop."""
        space = self.space
        if self.uplink is not None:
            space.rx.extend(self.uplink.receive(self.now_ms))
        else:
            space.rx.extend(self._cltus)
            self._cltus.clear()
        self.app.step()
        frames = list(space.tx)
        space.tx.clear()
        if self.downlink is not None:
            for f in frames:
                self.downlink.send(f, self.now_ms)
            frames = self.downlink.receive(self.now_ms)
        for f in frames:
            self.gs.on_frame(f)
        if self.virtual_station:
            self.gs.service()

    def advance(self, ms):
        self.now_ms += ms
        self.hal.clock.advance(ms * 1000)

    def step(self, ms=1):
        self.exchange()
        self.advance(ms)

    def run_ms(self, ms, step_ms=1):
        end = self.now_ms + ms
        while self.now_ms < end:
            self.step(step_ms)

    def command(self, name, args=None, ms=1500, timeout_s=30, step_ms=1):
        """Send a command through the station and run ``ms``; return (PendingCommand, the tool's lines)."""
        w = Writer()
        cmd = self.gs.send_command(name, args or {}, writer=w, timeout_s=timeout_s)
        self.run_ms(ms, step_ms)
        return cmd, w.lines
