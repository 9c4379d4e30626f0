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
