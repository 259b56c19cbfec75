"""Fixtures for engine tests; the data itself is in engine_data.py."""

from __future__ import annotations

import pandas as pd
import pytest
from engine_data import MODEL, make_frames

from headway.engine.loader import parse_kpis
from headway.engine.spec import Kpi


@pytest.fixture(scope="session")
def model() -> dict[str, Kpi]:
    kpis, errors = parse_kpis(MODEL, "engine_data")
    assert not errors, errors
    return {k.id: k for k in kpis}


@pytest.fixture(scope="session")
def frames() -> dict[str, pd.DataFrame]:
    return make_frames()
