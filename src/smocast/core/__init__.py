"""TCP machinery shared by every protocol core: no sockets, no clocks, no global randomness.

Every function here takes time as an explicit ``now`` (seconds, float) and randomness as a
``random.Random`` given at construction.
"""
