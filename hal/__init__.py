"""Hardware abstraction layer: the one interface the flight code sees.

``hal.interface`` documents every device; backends implement it:

- ``hal.fake``      MicroPython subset, register-backed devices with scripted inputs
                    and a virtual clock (tests on both interpreters);
- ``hal.board``     MicroPython ``machine.*`` on an RP2350 (Pico 2) class board;
- ``hal.emulated``  desktop only (CPython): the fake devices wired to the sim/ plant
                    models, plus desktop transports such as UDP.
"""
