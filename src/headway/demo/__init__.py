"""Deterministic demo data for several business types, with planted effects of known size.

>>> data = generate("ecommerce", size="tiny", seed=42)
>>> sorted(data.datasets)[:3]
['cash_transactions', 'customers', 'employees']

See docs/demo-data.md for what each business generates and the planted parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headway.demo._common import SIZES, Ctx, DemoData

Generator = Callable[[Ctx], tuple[dict[str, pd.DataFrame], dict[str, Any]]]


def _registry() -> dict[str, Generator]:
    from headway.demo import ecommerce, manufacturing, restaurant, saas

    return {
        "ecommerce": ecommerce.generate,
        "restaurant": restaurant.generate_restaurant,
        "bakery": restaurant.generate_bakery,
        "saas": saas.generate,
        "manufacturing": manufacturing.generate,
    }


BUSINESSES: tuple[str, ...] = ("ecommerce", "restaurant", "bakery", "saas", "manufacturing")
ALIASES = {"cafe": "bakery", "café": "bakery", "e-commerce": "ecommerce", "shop": "ecommerce"}


def generate(business: str, size: str = "tiny", seed: int = 42, *, orders: int | None = None) -> DemoData:
    """Generate the demo datasets of ``business`` at ``size`` (or with exactly ``orders`` orders).

    The same (business, size/orders, seed) always gives identical frames.
    """
    key = ALIASES.get(business.lower(), business.lower())
    if key not in BUSINESSES:
        raise ValueError(f"unknown business {business!r}; choose one of {', '.join(BUSINESSES)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    n = SIZES[size] if orders is None else int(orders)
    if n < 50:
        raise ValueError("orders must be at least 50")
    ctx = Ctx(rng=np.random.default_rng(seed), n_orders=n, size=size)
    datasets, params = _registry()[key](ctx)
    params = {"business": key, "orders": n, "start": ctx.start.isoformat(), "end": ctx.end.isoformat(), **params}
    return DemoData(key, size, seed, ctx.start, ctx.end, datasets, params)


def write_csvs(data: DemoData, out_dir: str | Path) -> list[Path]:
    """Write one ``<dataset>.csv`` per dataset into ``out_dir`` (created if missing); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in data.datasets.items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=False)
        paths.append(path)
    return paths


__all__ = ["BUSINESSES", "SIZES", "DemoData", "generate", "write_csvs"]
