"""Prefect 1's ``prefect.core`` module paths, so imports written for Prefect 1 keep working.

Tideflow defines these names elsewhere (``tideflow.parameter``, ...); the modules of this
package only re-export them under the paths Prefect 1 used.
"""

from __future__ import annotations
