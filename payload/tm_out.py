"""Telemetry output: every on-board TM packet is packed here and handed to the links.

One ``bus.pus.TmPacketWriter`` stamps the packets with on-board time and keeps
each APID's sequence and message counters; each sink (the space link's frame
builder, the lab port, the packet store of service 15) copies the packet before
``send`` returns, so the single packet buffer is reused at once.  A sink must
not send TM itself (that would overwrite the buffer the other sinks have yet to
copy): the packet store, for one, reports overwriting from its 1 Hz tick.
"""


class TmOut:
    def __init__(self, writer):
        self.writer = writer  # bus.pus.TmPacketWriter
        self.sinks = []  # callables (buf, n) -> True if taken
        self.packets_sent = 0

    def send(self, apid, service, subtype, data, n):
        w = self.writer
        length = w.pack(apid, service, subtype, data, n)
        self.packets_sent += 1
        for sink in self.sinks:
            sink(w.buf, length)
        return length
