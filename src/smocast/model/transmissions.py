"""E[M], the expected number of multicast transmissions until all R receivers hold a packet (§3).

Loss model (§1, [CONF]): each transmission of a data packet is lost at each receiver
independently with probability p. Then, with M_r the number of transmissions receiver r needs,

    P(M_r > m) = p^m                                   [RECALL]
    P(M ≤ m)   = (1 − p^m)^R                           [RECALL]

This module also holds the per-packet *event counts* that the cost equations of §4-§7 are built
from (ACKs, NAKs, timeouts, copies processed). Keeping them here, under their own names, lets the
tests check each count against a Monte Carlo of the loss process (§10.2), and lets the cost
modules read as the equations of the reference.

Numerics. The series form is summed term by term with ``expm1``/``log1p``, which keeps every term
to full relative precision for p up to 1 − 1e-9 and any R that fits a float (10^6 and far beyond),
and never overflows: (1 − p^m)^R is evaluated as exp(R·log1p(−p^m)) ≤ 1. The sum stops at the
first m for which the rigorous tail bound

    Σ_{k>m} [1 − (1 − p^k)^R]  ≤  Σ_{k>m} R·p^k  =  R·p^{m+1} / (1 − p)

is below ``SERIES_TOLERANCE`` (1e-14 absolute; E[M] ≥ 1, so this is also a relative bound).
The loop length is therefore ⌈(ln R − ln(1e-14·(1 − p))) / ln(1/p)⌉ terms: 10 at p = 0.01,
R = 10^4; 31 at p = 0.25, R = 10^4; 68 at p = 0.5, R = 10^6 (5041 at p = 0.99, R = 10^6).
"""

from __future__ import annotations

import math
from fractions import Fraction

from smocast.core.errors import ConfigError

SERIES_TOLERANCE = 1e-14
"""Absolute bound on the truncated tail of the E[M] series (see the module docstring)."""

ALTERNATING_MAX_R = 64
"""Largest R the exact alternating sum accepts; it costs O(R) big-rational operations."""


def check_loss(p: float) -> float:
    """Return p if it is a loss probability of the model, 0 < p < 1; raise ConfigError otherwise."""
    if not (isinstance(p, float | int) and 0.0 < p < 1.0):
        raise ConfigError(f"the loss probability p must be in (0, 1), got {p!r}")
    return float(p)


def check_receivers(receivers: int) -> int:
    """Return R if it is a whole number ≥ 1; raise ConfigError otherwise."""
    if isinstance(receivers, bool) or not isinstance(receivers, int) or receivers < 1:
        raise ConfigError(f"the number of receivers must be a whole number >= 1, got {receivers!r}")
    return receivers


def loss_odds(p: float) -> float:
    """q = p / (1 − p): the expected number of losses (failed attempts) per receiver. [RECALL]

    E[M_r] = 1 / (1 − p), so E[M_r] − 1 = q.
    """
    p = check_loss(p)
    return p / (1.0 - p)


def _series_terms(p: float, receivers: int) -> int:
    """Number of terms m = 1..n after which the tail bound R·p^{n+1}/(1−p) < SERIES_TOLERANCE."""
    need = math.log(receivers) - math.log(SERIES_TOLERANCE * (1.0 - p))
    return max(1, math.ceil(need / math.log(1.0 / p)))


def expected_transmissions(p: float, receivers: int) -> float:
    """E[M], series form (the one to use). [RECALL, verified numerically §10.1]

        E[M] = 1 + Σ_{m≥1} [1 − (1 − p^m)^R]

    Each term is computed as −expm1(R·log1p(−p^m)); the tail is cut at SERIES_TOLERANCE.
    """
    p = check_loss(p)
    receivers = check_receivers(receivers)
    terms = [-math.expm1(receivers * math.log1p(-(p**m))) for m in range(1, _series_terms(p, receivers) + 1)]
    return 1.0 + math.fsum(terms)


def expected_transmissions_alternating(p: float, receivers: int) -> float:
    """E[M], alternating form, as a cross-check for small R. [RECALL]

        E[M] = Σ_{i=1}^{R} C(R, i) (−1)^{i+1} / (1 − p^i)

    In floating point this cancels catastrophically for R ≳ 30, so it is evaluated exactly in
    rational arithmetic (``Fraction`` of the binary value of p) and rounded once at the end.
    Accepts R ≤ ALTERNATING_MAX_R.
    """
    p = check_loss(p)
    receivers = check_receivers(receivers)
    if receivers > ALTERNATING_MAX_R:
        raise ConfigError(f"the alternating sum is only evaluated for R <= {ALTERNATING_MAX_R}, got {receivers}")
    exact_p = Fraction(p)
    total = Fraction(0)
    for i in range(1, receivers + 1):
        sign = 1 if i % 2 else -1
        total += sign * math.comb(receivers, i) / (1 - exact_p**i)
    return float(total)


def expected_transmissions_local(p: float, branching: int) -> float:
    """E[M_B] (Levine's E[M^{H1}] = E[M^{H2}]): E[M] of one local group of B children. [SEED]"""
    return expected_transmissions(p, branching)


def harmonic_number(n: int) -> float:
    """H_n = Σ_{i=1}^{n} 1/i, summed exactly for n ≤ 10^5 and by its asymptotic series beyond."""
    if n < 1:
        raise ConfigError(f"the harmonic number needs n >= 1, got {n}")
    if n <= 100_000:
        return math.fsum(1.0 / i for i in range(1, n + 1))
    x = float(n)
    return math.log(x) + 0.5772156649015329 + 1 / (2 * x) - 1 / (12 * x**2) + 1 / (120 * x**4)


def transmission_bounds(p: float, receivers: int) -> tuple[float, float]:
    """The sandwich of §3. [DERIVED]

        H_R / ln(1/p)  ≤  E[M]  ≤  1 + H_R / ln(1/p)

    The summand f(m) = 1 − (1 − p^m)^R decreases in m and ∫_0^∞ f = H_R / ln(1/p), so the sum
    Σ_{m≥0} f(m) = E[M] lies between the integral and f(0) + the integral.
    """
    p = check_loss(p)
    receivers = check_receivers(receivers)
    centre = harmonic_number(receivers) / math.log(1.0 / p)
    return centre, 1.0 + centre


# --- event counts per packet (§3 "per-receiver facts"; checked by Monte Carlo, §10.2) -----------


def copies_per_receiver(p: float, receivers: int) -> float:
    """Copies one receiver processes out of the M multicasts: (1 − p)·E[M]. [RECALL; Wald]

    {M ≥ i} depends only on transmissions before i, so by Wald's identity the expected number of
    successful receptions among the first M transmissions is (1 − p)·E[M].
    """
    return (1.0 - check_loss(p)) * expected_transmissions(p, receivers)


def acks_protocol_a(p: float, receivers: int) -> float:
    """ACKs at the sender of protocol A, where every receiver ACKs every copy: R(1 − p)E[M]. [RECALL]"""
    return receivers * copies_per_receiver(p, receivers)


def naks_protocol_n1(p: float, receivers: int) -> float:
    """Unicast NAKs at the sender of N1, one per receiver per failed round: R·q. [RECALL]"""
    return check_receivers(receivers) * loss_odds(p)


def timeouts_per_receiver(p: float) -> float:
    """Timeouts one receiver processes (one per round it still misses the packet): q. [RECALL]"""
    return loss_odds(p)


def naks_sent_n2(p: float, receivers: int) -> float:
    """NAKs one N2 receiver multicasts, ideal suppression (one NAK per failed round): (E[M] − 1)/R. [RECALL]"""
    return (expected_transmissions(p, receivers) - 1.0) / receivers


def naks_heard_n2(p: float, receivers: int) -> float:
    """NAKs one N2 receiver receives from the others: (E[M] − 1)(1 − 1/R). [RECALL; charge is OPEN]"""
    return (expected_transmissions(p, receivers) - 1.0) * (1.0 - 1.0 / receivers)


def naks_at_token_site(p: float, receivers: int) -> float:
    """E[L^R]: NAKs the ring's token site processes per packet: (R − 1)·q. [SEED]"""
    return (check_receivers(receivers) - 1) * loss_odds(p)
