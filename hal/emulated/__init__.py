"""Desktop HAL backend (CPython): fake devices wired to sim/, desktop transports.

The devices are those of ``hal.fake`` (register-backed, virtual clock); the
lock-step runner writes plant outputs into them and reads the flight code's
commands back.  Transports that only exist on a desktop, such as UDP, live here
and never in bus/ or payload/.
"""

from hal.emulated.hal import EmulatedHal
from hal.emulated.udp_link import LabPortLink, UdpLink

__all__ = ["EmulatedHal", "LabPortLink", "UdpLink"]
