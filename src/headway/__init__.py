"""Headway: a strategic KPI platform for small and medium-sized businesses.

>>> import headway
>>> hw = headway.open("shop.duckdb")
>>> hw.compute(["revenue", "aov"], grain="month")
"""

__version__ = "0.1.0"

from headway.engine.api import open

__all__ = ["__version__", "open"]
