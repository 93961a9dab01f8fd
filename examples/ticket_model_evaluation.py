"""The reference pipeline, ticket model evaluation, as a flow file for the CLI.

``tideflow run examples/ticket_model_evaluation.py:flow --param batch-size=500`` runs one trial
now, and ``...:backtest --param resamples=100`` the weekly backtest; a deployment runs the
evaluation every minute. The tasks and the flow are defined in
:mod:`tideflow.reference.flows` (the notebook ``ticket_model_evaluation.ipynb`` beside this file
builds them step by step). The data is ``$TIDEFLOW_INCIDENTS`` (a path to UCI's zip), else UCI's
download, else, offline, synthetic tickets, which the run's log says in a warning.
"""

from __future__ import annotations

from tideflow.reference.flows import backtest_flow as backtest
from tideflow.reference.flows import evaluation_flow as flow

__all__ = ["backtest", "flow"]
