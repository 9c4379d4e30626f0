"""The ground archive of emulated passes: every TM packet a pass sent, decoded as the station would.

Packets go in with their reception time (the pass's UTC start plus the
virtual time they were sent) through the same decoder and limit monitor as
the live ground station (ground_segment/station.py).  ``telemetry()`` gives
the summary's figures: packets archived, sequence-count gaps over every
application, telecommands sent (immediate ones and those the on-board
schedule released) and completed (TM[1,7] reports).  Gaps are counted per
run, in the order the packets arrived: each pass boots the payload afresh.
"""

import struct

CDS_UNIX_DAY = 4383  # days from 1958-01-01 (CDS epoch) to 1970-01-01
_TC_DATA = 11  # application data offset of a TC packet: primary header 6, PUS-C TC secondary header 5

from ground_segment.archive import Archive
from ground_segment.limits import LimitMonitor
from ground_segment.mdb_decode import Decoder


def _release_times_unix(packet: bytes) -> list:
    """Release times (UNIX s) of the telecommands inside a TC[11,4] insert; [] for any other packet."""
    if len(packet) < 12 or packet[7] != 11 or packet[8] != 4:
        return []
    out = []
    count, pos = packet[_TC_DATA], _TC_DATA + 1
    for _ in range(count):  # P-field (1), CDS days (2) and ms of day (4), then the packet
        days, ms = struct.unpack_from(">HI", packet, pos + 1)
        out.append((days - CDS_UNIX_DAY) * 86400.0 + ms / 1000.0)
        pos += 7 + struct.unpack_from(">H", packet, pos + 7 + 4)[0] + 7
    return out


class PassArchive:
    def __init__(self, path):
        self.archive = Archive(str(path))
        self.decoder = Decoder()
        self.limits = LimitMonitor()
        self.tm_packets = 0
        self.bad_packets = 0
        self.tc_sent = 0
        self.tc_completed = 0
        self.tc_failed = 0
        self.tm_gaps = 0  # places where an application's sequence count skipped

    def add_run(self, res, plan) -> None:
        t0 = plan.t0_unix or 0.0
        last = {}  # APID -> last sequence count of this run (each pass boots the payload afresh)
        with self.archive.batch():
            for t, pkt in zip(res.tm_times_s, res.tm_packets):
                pkt = bytes(pkt)
                self.tm_packets += 1
                try:
                    records = self.decoder.decode(pkt)
                except Exception:  # noqa: BLE001 - a packet the decoder refuses is counted, never fatal
                    self.bad_packets += 1
                    self.archive.add_packet(t0 + t, pkt)
                    continue
                self.archive.add_packet(t0 + t, pkt)
                self.archive.add_records(records, t0 + t, self.limits)
                if pkt[7] == 1 and pkt[8] == 7:
                    self.tc_completed += 1
                elif pkt[7] == 1 and pkt[8] in (2, 4, 8):
                    self.tc_failed += 1
                w0, w1 = struct.unpack_from(">HH", pkt, 0)
                apid, seq = w0 & 0x7FF, w1 & 0x3FFF
                if apid in last and seq != last[apid] and seq != (last[apid] + 1) & 0x3FFF:
                    self.tm_gaps += 1
                last[apid] = seq
        end = t0 + res.duration_s
        for _, pkt in plan.commands():  # immediate ones, and scheduled ones released within the run
            self.tc_sent += 1 + sum(1 for t in _release_times_unix(bytes(pkt)) if t <= end)

    def telemetry(self) -> dict:
        return {"tm_packets": self.tm_packets, "tm_bad": self.bad_packets, "tm_gaps": self.tm_gaps,
                "tc_sent": self.tc_sent, "tc_completed": self.tc_completed, "tc_failed": self.tc_failed}

    def close(self) -> None:
        self.archive.close()
