"""Flight software of the quantum payload (MicroPython subset).

Imports nothing but what MicroPython ships, the HAL interface and bus/.
"""
