"""The emulated payload hardware: every HAL device, driven by the plant."""

from hal.fake import FakeHal, FakeWatchdog, VirtualClock


class EmulatedHal(FakeHal):
    """FakeHal on a virtual clock that the lock-step runner advances.

    ``links`` may be replaced by ``UdpLink`` instances for real-time emulation.
    """

    name = "emulated"

    def __init__(self, start_us: int = 0, nvstore_size: int = 64 * 1024, links: dict | None = None):
        super().__init__(start_us=start_us, nvstore_size=nvstore_size)
        # the watchdog counts on its own oscillator: a jump of the processor's timer (a fault the
        # runner can inject) does not expire it, a hung processor does
        self.watchdog_clock = VirtualClock(start_us)
        self.watchdog = FakeWatchdog(self.watchdog_clock)
        if links:
            self.links.update(links)
        for mirror in self.fsm:
            mirror.follow = False  # the plant's mirror dynamics set the position

    def advance(self, dt_us: int) -> None:
        """Time passes: the processor's clock and the watchdog's oscillator move together."""
        self.clock.advance(dt_us)
        self.watchdog_clock.advance(dt_us)

    def power_on_reset_outputs(self) -> None:
        """What a processor reset does to the outputs: every digital line falls to its pull-down, so
        the pump and TEC drivers, the lasers and the basis switch are disabled; DACs to zero drive."""
        from hal.interface import ANALOG_OUTPUTS

        for d in self.digital_out.values():
            d.set(False)
        for name in ANALOG_OUTPUTS:
            self.analog_out[name].write_u16(32768 if name == "crystal_tec" else 0)
        for g in self.gimbal:
            g.set_rate_urad_s(0, 0)
