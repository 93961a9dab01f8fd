"""The reference pipeline: ticket model evaluation on the UCI incident event log.

An application built on Tideflow (DESIGN.md, "The reference pipeline"): nothing in Tideflow
imports it, and it needs the ``reference`` extra (pandas, pyarrow, scikit-learn). Its pieces:

- :mod:`~tideflow.reference.schema`: the log's 36 columns and the dtypes of every frame of it;
- :mod:`~tideflow.reference.csvtext`: the log's CSV text format, read and written;
- :mod:`~tideflow.reference.data`: :func:`load_incidents` from a path or URL through a Parquet
  cache, with a synthetic fallback offline, and :func:`closed_tickets`;
- :mod:`~tideflow.reference.synthetic`: :func:`generate_incidents`, a seeded generator of data
  in the same shape, and :func:`write_incidents_zip`;
- :mod:`~tideflow.reference.distributions`: the real log's distributions the generator draws from;
- :mod:`~tideflow.reference.tickets`: the closed tickets, kept in memory once per process;
- :mod:`~tideflow.reference.flows`: the pipeline itself, ``evaluation_flow`` (a trial every
  minute) and ``backtest_flow`` (every week of the log, one mapped child per week). Import it
  by name: it loads scikit-learn, which importing this package does not.
"""

from __future__ import annotations

from tideflow.errors import DataError
from tideflow.reference.data import (
    DEFAULT_SOURCE,
    IncidentData,
    closed_tickets,
    load_incidents,
)
from tideflow.reference.synthetic import generate_incidents, write_incidents_zip

__all__ = [
    "DEFAULT_SOURCE",
    "DataError",
    "IncidentData",
    "closed_tickets",
    "generate_incidents",
    "load_incidents",
    "write_incidents_zip",
]
