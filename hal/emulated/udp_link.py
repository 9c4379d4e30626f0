"""A HAL byte link over UDP datagrams (desktop transport, CPython only)."""

import socket

from hal.interface import ByteLink


class UdpLink(ByteLink):
    """Non-blocking UDP endpoint: receives on ``bind`` and sends to ``peer``.

    When ``peer`` is None the link answers whoever sent the latest datagram.
    """

    def __init__(self, bind: tuple[str, int], peer: tuple[str, int] | None = None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(bind)
        self.peer = peer
        self.dropped_tx = 0  # datagrams the OS refused (no listener, buffer full)

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def write(self, data) -> int:
        if self.peer is None:
            self.dropped_tx += 1
            return 0
        try:
            return self.sock.sendto(bytes(data), self.peer)
        except OSError:
            self.dropped_tx += 1
            return 0

    def readinto(self, buf) -> int:
        try:
            n, addr = self.sock.recvfrom_into(buf)
        except BlockingIOError:
            return 0
        except ConnectionRefusedError:  # ICMP from an earlier send; nothing received
            return 0
        if self.peer is None:
            self.peer = addr
        return n

    def close(self) -> None:
        self.sock.close()


class LabPortLink(ByteLink):
    """The lab port: datagrams in from anyone, every TM packet out to everyone heard lately.

    Common TMTC tools talk to a spacecraft's test port this way: one raw space
    packet per datagram both ways, TM sent to every address that has sent
    something within ``listener_timeout_s`` (ten minutes by default).
    """

    def __init__(self, bind: tuple[str, int], listener_timeout_s: float = 600.0, now=None):
        import time

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(bind)
        self.listener_timeout_s = listener_timeout_s
        self._now = now or time.monotonic
        self.listeners: dict[tuple[str, int], float] = {}  # address -> last heard (monotonic s)
        self.dropped_tx = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def readinto(self, buf) -> int:
        try:
            n, addr = self.sock.recvfrom_into(buf)
        except (BlockingIOError, ConnectionRefusedError):
            return 0
        self.listeners[addr] = self._now()
        return n

    def write(self, data) -> int:
        now = self._now()
        data = bytes(data)
        for addr, heard in list(self.listeners.items()):
            if now - heard > self.listener_timeout_s:
                del self.listeners[addr]
                continue
            try:
                self.sock.sendto(data, addr)
            except OSError:
                self.dropped_tx += 1
        return len(data)

    def close(self) -> None:
        self.sock.close()
