"""A minimal ground for the flight service tests, on either interpreter.

Builds telecommands with bus.pus and decodes what the payload sent on its lab
port; steps the payload on the fake HAL's virtual clock.
"""

import struct

from bus import mdb
from bus.pus import pack_tc, unpack_tm, ACK_ALL
from hal.fake import FakeHal
from payload.app import PayloadApp


def command_data(name, *args):
    """Application data of a declared command with these argument values: the function ID, then
    the packed arguments (or, for a command without a fixed list, the octets given)."""
    c = mdb.command(name)
    data = b""
    if c[4] is not None:
        data = bytes([c[4]])
    if c[5]:
        data += struct.pack(mdb.args_format(c[5]), *args)
    elif args:
        data += args[0]
    return data


class Bench:
    def __init__(self):
        self.hal = FakeHal()
        self.app = PayloadApp(self.hal)
        self.app.start()
        self.lab = self.hal.links["lab"]
        self.seq = 0

    def run_ms(self, ms):
        i = 0
        while i < ms:
            self.app.step()
            self.hal.clock.advance(1000)
            i += 1

    def send_raw(self, packet, ms=60):
        self.lab.rx.append(packet)
        self.run_ms(ms)

    def tc(self, name, *args, ack=ACK_ALL, ms=60):
        """Send a declared command by name; return the TM packets that came back."""
        c = mdb.command(name)
        data = command_data(name, *args)
        self.seq = (self.seq + 1) & 0x3FFF
        self.lab.tx.clear()
        self.send_raw(pack_tc(c[1], self.seq, c[2], c[3], data, ack), ms)
        return self.received()

    def received(self):
        return [unpack_tm(p) for p in self.lab.tx]


def of(tms, service, subtype):
    return [t for t in tms if t.service == service and t.subtype == subtype]


def failure_code(tm):
    return struct.unpack(">H", tm.app_data[4:6])[0]


def failure_arg(tm):
    """Index of the argument at fault in a failure report (0xFF: none)."""
    return tm.app_data[6]


def event_ids(tms):
    return [struct.unpack(">H", t.app_data[:2])[0] for t in tms if t.service == 5]
