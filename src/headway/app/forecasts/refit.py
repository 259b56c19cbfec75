"""Fitting and storing the forecasts of an organisation's KPIs from its current run.

Runs as the ``forecasts.refit`` job (jobs.py), a few seconds after every successful refresh; pages only
read what it stored.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable
from datetime import date

import pandas as pd

from headway.analytics.forecast import Forecast, forecast
from headway.app.accounts.models import Organization
from headway.app.forecasts.models import StoredForecast
from headway.app.kpis.models import KpiDefinition, Run
from headway.app.kpis.series import current_run, shown_grain, totals
from headway.engine.scoring import is_complete
from headway.engine.spec import Grain

log = logging.getLogger(__name__)

HORIZON = {Grain.DAY: 28, Grain.WEEK: 13, Grain.MONTH: 12, Grain.QUARTER: 4, Grain.YEAR: 2}
FREQ = {Grain.DAY: "D", Grain.WEEK: "W-{}", Grain.MONTH: "MS", Grain.QUARTER: "QS", Grain.YEAR: "YS"}
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def history(series: dict[date, float | None], grain: Grain, as_of: date | None) -> pd.Series:
    """The complete periods of a stored series as a regular pandas series (the partial last period left out)."""
    kept = {p: v for p, v in series.items() if is_complete(p, grain, as_of)}
    if not kept:
        return pd.Series(dtype=float)
    index = pd.DatetimeIndex(sorted(kept))
    freq = FREQ[grain].format(_WEEKDAYS[index[0].weekday()]) if grain is Grain.WEEK else FREQ[grain]
    y = pd.Series([kept[d.date()] for d in index], index=index, dtype=float)
    return y.asfreq(freq)


def _json_number(value: object) -> object:
    """JSON has no NaN or infinity: an unknown number is stored as null."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def _points(fc: Forecast) -> list[dict[str, object]]:
    frame = fc.to_frame()
    return [
        {"period": period.date().isoformat(), **{k: _json_number(float(v)) for k, v in row.items()}}
        for period, row in frame.iterrows()
    ]


def refit_org(org: Organization, kpi_ids: Iterable[str] | None = None) -> int:
    """Fit every KPI of the org's current run (or those in ``kpi_ids``) and store the forecasts; returns how many.

    A KPI whose series cannot be forecast gets a stored row with the reason in ``error``.
    """
    run = current_run(org)
    if run is None:
        return 0
    definitions = KpiDefinition.objects.filter(org=org)
    if kpi_ids is not None:
        definitions = definitions.filter(kpi_id__in=list(kpi_ids))
    wanted = [(d.kpi_id, shown_grain(d.to_spec())) for d in definitions]
    series = totals(run, wanted)
    stored = 0
    for (kpi_id, grain), values in series.items():
        if not values:
            continue
        _store(run, kpi_id, grain, history(values, grain, run.data_as_of))
        stored += 1
    return stored


def _store(run: Run, kpi_id: str, grain: Grain, y: pd.Series) -> StoredForecast:
    fields: dict[str, object]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = forecast(y, HORIZON[grain])
    except ValueError as exc:
        fields = {"error": str(exc), "history_points": int(y.notna().sum())}
    except Exception as exc:  # one KPI's surprise must not cost the others their forecasts
        log.exception("forecast of %s (run %s) failed", kpi_id, run.pk)
        fields = {"error": f"the forecast could not be made ({type(exc).__name__})", "points": []}
    else:
        fields = {
            "model": fc.model,
            "fallback_used": fc.fallback_used,
            "history_points": len(fc.history),
            "last_period": fc.history.index[-1].date(),
            "accuracy": {k: _json_number(v) for k, v in fc.accuracy.items()} if fc.accuracy else None,
            "accuracy_text": fc.describe_accuracy(),
            "notes": fc.notes,
            "points": _points(fc),
            "error": "",
        }
    obj, _ = StoredForecast.objects.update_or_create(
        run=run, kpi_id=kpi_id, grain=grain.value, defaults={"org": run.org, **fields}
    )
    return obj


def latest(org: Organization, kpi_id: str, grain: Grain) -> StoredForecast | None:
    """The stored forecast of the org's current run, if the refit job has made it."""
    run = current_run(org)
    if run is None:
        return None
    return StoredForecast.objects.filter(run=run, kpi_id=kpi_id, grain=grain.value).first()
