"""Wire formats shared by flight and ground (MicroPython subset).

Everything in this package imports and runs on MicroPython; the ground segment
uses it as its one source of truth for the spacecraft's formats.
"""
