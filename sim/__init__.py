"""Physics and environment models (CPython, numpy) and the lock-step runner.

Models never import flight code; they reach it only through hal.emulated.  The
lock-step runner (sim.lockstep) is the one place that composes plant, emulated
HAL and flight application.
"""
