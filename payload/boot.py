"""Entry point of the flight software on a board (called by the bundle's main.py).

Builds the payload application on the board HAL (keys and anti-replay counters
on the board's non-volatile store, the PayloadApp default); ``flight=True``
builds the flight configuration (``payload.link.FLIGHT_CONFIG``: lab port
closed, space-link authentication required), while a development board keeps
its lab port by default.  Then it starts the fine rate group on a hardware timer interrupt
(allocation-free, so legal there) and runs the slower groups cooperatively in
the foreground loop.
"""


def main(hal=None, cycles=-1, flight=False):
    """Boot and run; ``cycles`` >= 0 bounds the foreground loop (for tests)."""
    import micropython

    # lets a hard interrupt report its own exception; not every port has it
    # (the WebAssembly port used by the tests does not)
    if hasattr(micropython, "alloc_emergency_exception_buf"):
        micropython.alloc_emergency_exception_buf(100)
    if hal is None:
        from hal.board import BoardHal

        hal = BoardHal()
    from payload.app import PayloadApp
    from payload.link import FLIGHT_CONFIG

    app = PayloadApp(hal, **FLIGHT_CONFIG) if flight else PayloadApp(hal)
    app.start()
    fine = app.fine
    sched = app.sched
    hal.start_fine_timer(fine.period_us, app.run_fine_isr)
    try:
        while cycles != 0:
            sched.step()
            hal.idle()
            if cycles > 0:
                cycles -= 1
    finally:
        hal.stop_fine_timer()
    return app
