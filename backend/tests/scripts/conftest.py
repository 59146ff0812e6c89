"""Tests of scripts/loadtest.py and scripts/bench: the repository root goes on sys.path, so that
they import as `scripts.loadtest` and `scripts.bench`."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
