"""A deterministic discrete-event simulator that drives the same sans-IO endpoints as the
asyncio runtime: links with bandwidth, delay, drop-tail queues and loss models, multicast
fan-out, and an optional per-host CPU model.

The same seed gives the same run, bit for bit.
"""
