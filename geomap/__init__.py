"""geomap: where education provision is, who can reach it, and where the gaps are."""

from __future__ import annotations

__version__ = "0.1.0"
