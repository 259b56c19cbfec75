"""docs/kpi-spec.md stays true: every YAML example loads and validates, and every kind, category and unit is covered."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml

from headway.engine import spec
from headway.engine.loader import parse_kpis
from headway.engine.spec import Category, Kpi, KpiModel, Unit
from headway.engine.validation import validate_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpi-spec.md"
YAML_BLOCK = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def yaml_blocks() -> list[str]:
    return YAML_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def metric_kinds() -> list[str]:
    """The ``kind`` tag of every member of spec.Metric's union."""
    union = typing.get_args(spec.Metric)[0]
    kinds = []
    for member in typing.get_args(union):
        (kind,) = typing.get_args(member.model_fields["kind"].annotation)
        kinds.append(kind)
    return kinds


def catalog_kpis() -> dict[str, Kpi]:
    try:
        from headway.engine.catalog import load_catalog
    except ImportError:
        return {}
    return dict(load_catalog().kpis)


def test_doc_has_yaml_examples() -> None:
    assert len(yaml_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(yaml_blocks())))
def test_each_yaml_block_parses(index: int) -> None:
    block = yaml_blocks()[index]
    kpis, errors = parse_kpis(yaml.safe_load(block), f"kpi-spec.md block {index}")
    assert not errors, "\n".join(str(e) for e in errors)
    assert kpis


def test_all_blocks_together_validate() -> None:
    kpis: list[Kpi] = []
    for index, block in enumerate(yaml_blocks()):
        parsed, errors = parse_kpis(yaml.safe_load(block), f"kpi-spec.md block {index}")
        assert not errors, "\n".join(str(e) for e in errors)
        kpis += parsed
    errors = validate_model(KpiModel(kpis=tuple(kpis), source="kpi-spec.md"), extra_kpis=catalog_kpis())
    assert not errors, "\n".join(str(e) for e in errors)


def test_every_metric_kind_has_an_example() -> None:
    text = "\n".join(yaml_blocks())
    kinds = metric_kinds()
    assert len(kinds) >= 10
    missing = [k for k in kinds if not re.search(rf"\bkind:\s*{k}\b", text)]
    assert not missing, f"no yaml example with kind: {missing}"


@pytest.mark.parametrize("enum", [Category, Unit])
def test_every_category_and_unit_is_mentioned(enum: type[Category] | type[Unit]) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [v.value for v in enum if f"`{v.value}`" not in text]
    assert not missing, f"{enum.__name__} values not mentioned in docs/kpi-spec.md: {missing}"
