"""Every reproducible result, in the order they are listed, run and documented."""

from __future__ import annotations

from smocast.core.errors import ConfigError
from smocast.repro.base import Result
from smocast.repro.classes import CLASSES_VS_MODEL, LEVINE_THEOREM2
from smocast.repro.levine_model import LEVINE_FIG6, LEVINE_FIG7, LEVINE_TABLE1
from smocast.repro.open_bursty import OPEN_BURSTY
from smocast.repro.open_congestion import OPEN_CONGESTION_SIM
from smocast.repro.open_congestion_testbed import OPEN_CONGESTION_TESTBED
from smocast.repro.open_relay import OPEN_RELAY
from smocast.repro.smo_relay import SMO_RELAY2300
from smocast.repro.smo_stream import SMO_FIG7
from smocast.repro.smo_transfer import SMO_ACKFREQ, SMO_ACKPROC, SMO_FIG5, SMO_LOSSY

RESULTS: tuple[Result, ...] = (
    SMO_ACKPROC,
    SMO_FIG5,
    SMO_ACKFREQ,
    SMO_LOSSY,
    SMO_FIG7,
    SMO_RELAY2300,
    LEVINE_FIG6,
    LEVINE_FIG7,
    LEVINE_TABLE1,
    LEVINE_THEOREM2,
    CLASSES_VS_MODEL,
    OPEN_BURSTY,
    OPEN_CONGESTION_SIM,
    OPEN_CONGESTION_TESTBED,
    OPEN_RELAY,
)


def names() -> list[str]:
    return [result.name for result in RESULTS]


def find(name: str) -> list[Result]:
    """The results ``name`` selects: one by name, or ``all``; a clear error for anything else."""
    if name == "all":
        return list(RESULTS)
    for result in RESULTS:
        if result.name == name:
            return [result]
    raise ConfigError(f"no result named {name!r}; `smocast repro --list` names them all")
