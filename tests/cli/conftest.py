"""Shared fixtures: one tiny e-commerce demo, generated once and written by `headway demo-data`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from headway.cli.main import app
from headway.demo import DemoData, generate

SEED = 7


def run(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Run `headway ARGS...` in-process; the result has exit_code, stdout and stderr."""
    return run


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    return generate("ecommerce", size="tiny", seed=SEED)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = run("demo-data", "--business", "ecommerce", "--size", "tiny", "--seed", str(SEED), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def warehouse(demo_dir: Path) -> Path:
    return demo_dir / "warehouse.duckdb"
