"""``unmapped``, ``flatten`` and ``mapped``, where Prefect 1 kept them
(``prefect.utilities.edges``); see :mod:`tideflow.edge_annotations`."""

from __future__ import annotations

from tideflow.edge_annotations import EdgeAnnotation, flatten, mapped, unmapped

__all__ = ["EdgeAnnotation", "flatten", "mapped", "unmapped"]
