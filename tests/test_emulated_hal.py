"""Desktop backend: UDP transport on loopback and the emulated device set."""

import time

from hal.emulated import EmulatedHal, UdpLink


def test_emulated_hal_complete_and_mirror_owned_by_plant():
    hal = EmulatedHal()
    hal.check()
    hal.fsm[0].set_nrad(1234, -5)
    assert hal.fsm[0].cmd_x_nrad == 1234 and hal.fsm[0].x_nrad == 0


def test_udp_link_round_trip_on_loopback():
    a = UdpLink(("127.0.0.1", 0))
    b = UdpLink(("127.0.0.1", 0), peer=a.address)
    try:
        assert b.write(b"\x1a\xcf\xfc\x1d-frame") == 10
        buf = bytearray(64)
        n = 0
        deadline = time.monotonic() + 2.0
        while n == 0 and time.monotonic() < deadline:
            n = a.readinto(buf)
        assert bytes(buf[:n]) == b"\x1a\xcf\xfc\x1d-frame"
        assert a.peer == b.address  # answers whoever spoke last
        assert a.write(b"ack") == 3
    finally:
        a.close()
        b.close()


def test_udp_link_without_peer_counts_drop():
    a = UdpLink(("127.0.0.1", 0))
    try:
        assert a.write(b"x") == 0 and a.dropped_tx == 1
        assert a.readinto(bytearray(8)) == 0
    finally:
        a.close()


def test_lab_port_answers_every_recent_listener_and_forgets_old_ones():
    from hal.emulated import LabPortLink

    now = [1000.0]
    lab = LabPortLink(("127.0.0.1", 0), listener_timeout_s=600.0, now=lambda: now[0])
    a = UdpLink(("127.0.0.1", 0), peer=lab.address)
    b = UdpLink(("127.0.0.1", 0), peer=lab.address)
    try:
        buf = bytearray(64)
        for sender in (a, b):
            sender.write(b"hello")
            n = 0
            deadline = time.monotonic() + 2.0
            while n == 0 and time.monotonic() < deadline:
                n = lab.readinto(buf)
            assert bytes(buf[:n]) == b"hello"
        lab.write(b"tm-1")
        for rx in (a, b):
            n = 0
            deadline = time.monotonic() + 2.0
            while n == 0 and time.monotonic() < deadline:
                n = rx.readinto(buf)
            assert bytes(buf[:n]) == b"tm-1"
        now[0] += 601.0  # ten minutes of silence: both forgotten
        lab.write(b"tm-2")
        assert lab.listeners == {}
    finally:
        for s in (lab, a, b):
            s.close()
