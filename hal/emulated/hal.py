"""The emulated payload hardware: every HAL device, driven by the plant."""

from hal.fake import FakeHal


class EmulatedHal(FakeHal):
    """FakeHal on a virtual clock that the lock-step runner advances.

    ``links`` may be replaced by ``UdpLink`` instances for real-time emulation.
    """

    name = "emulated"

    def __init__(self, start_us: int = 0, nvstore_size: int = 64 * 1024, links: dict | None = None):
        super().__init__(start_us=start_us, nvstore_size=nvstore_size)
        if links:
            self.links.update(links)
        for mirror in self.fsm:
            mirror.follow = False  # the plant's mirror dynamics set the position
