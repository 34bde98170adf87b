"""Local emulators of the HubSpot and Salesforce APIs leadloop uses, on loopback only.

They play the outside world for the demo, the tests and the benchmarks, and import nothing
from the rest of leadloop. See README.md in this folder for what is emulated.
"""
