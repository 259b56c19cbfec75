"""Goal targets that come from another KPI or a small expression.

``gross_margin_pct@last_year``, ``revenue@previous * 1.1``, ``max(aov@last_year, 50)``.
A reference is ``kpi_id@reference`` (a bare ``kpi_id`` means ``@current``); the
references are ``current``, ``previous``, ``last_year`` and ``baseline``. Numbers,
``+ - * /``, parentheses and the functions ``min``, ``max``, ``abs`` and ``round``
are allowed — nothing else. The text is read by a small parser written for this
grammar (never ``eval``), so an error can say exactly where it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from headway.analytics.goals import period_values
from headway.engine.periods import periods_per_year, shift
from headway.engine.spec import Grain

REFERENCES = ("current", "previous", "last_year", "baseline")
FUNCTIONS: dict[str, tuple[int, int]] = {"min": (2, 99), "max": (2, 99), "abs": (1, 1), "round": (1, 2)}
"""Function name -> (fewest, most) arguments."""
MAX_LENGTH = 500
MAX_DEPTH = 40

Lookup = Callable[[str, str], float | None]
"""``lookup(kpi_id, reference)``: the KPI's value for the reference, None if unknown."""


class TargetExprError(ValueError):
    """An expression that is not allowed or does not parse; ``position`` is 0-based."""

    def __init__(self, message: str, source: str, position: int) -> None:
        self.reason = message
        self.source = source
        self.position = position
        super().__init__(f"{message} at column {position + 1}:\n  {source}\n  {' ' * position}^")


class TargetUnavailable(ValueError):
    """A KPI referenced by the expression has no value for the reference (yet)."""

    def __init__(self, kpi_id: str, reference: str) -> None:
        self.kpi_id = kpi_id
        self.reference = reference
        super().__init__(f"no value for {kpi_id}@{reference}: the target cannot be worked out yet")


# --- syntax tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    kpi_id: str
    reference: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Num | Ref | Neg | BinOp | Call


# --- tokens --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),@]))"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "num" | "name" | "op" | "end"
    text: str
    position: int


def _tokens(source: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if m is None or m.lastgroup is None:
            bad = pos + len(source[pos:]) - len(source[pos:].lstrip())
            raise TargetExprError(f"unexpected character {source[bad]!r}", source, bad)
        start = m.start(m.lastgroup)
        out.append(_Token(m.lastgroup, m.group(m.lastgroup), start))
        pos = m.end()
    out.append(_Token("end", "", len(source.rstrip())))
    return out


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, token: _Token | None = None) -> TargetExprError:
        t = token or self.tok
        return TargetExprError(message, self.source, t.position)

    def take(self, text: str) -> _Token:
        t = self.tok
        if t.kind != "op" or t.text != text:
            found = "the end" if t.kind == "end" else repr(t.text)
            raise self.fail(f"expected {text!r} but found {found}")
        self.i += 1
        return t

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("empty expression")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.tok.text!r}")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expression nested deeper than {MAX_DEPTH} levels")
        node = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.tok
            self.i += 1
            node = BinOp(op.text, node, self.term(), op.position)
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            op = self.tok
            self.i += 1
            node = BinOp(op.text, node, self.unary(), op.position)
        return node

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in "+-":
            sign = self.tok.text
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"expression nested deeper than {MAX_DEPTH} levels")
            operand = self.unary()
            self.depth -= 1
            return Neg(operand) if sign == "-" else operand
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            return Num(float(t.text))
        if t.kind == "op" and t.text == "(":
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if t.kind == "name":
            self.i += 1
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(t)
            return self.reference(t)
        if t.kind == "end":
            raise self.fail("expression ends too early")
        raise self.fail(f"unexpected {t.text!r}")

    def call(self, name: _Token) -> Node:
        function = name.text.lower()
        if function not in FUNCTIONS:
            raise self.fail(f"unknown function {name.text!r}; use one of {', '.join(FUNCTIONS)}", name)
        self.take("(")
        args = [self.expr()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.i += 1
            args.append(self.expr())
        self.take(")")
        fewest, most = FUNCTIONS[function]
        if not fewest <= len(args) <= most:
            wanted = str(fewest) if fewest == most else f"{fewest} or more" if most > 9 else f"{fewest} to {most}"
            raise self.fail(f"{function}() takes {wanted} arguments, got {len(args)}", name)
        return Call(function, tuple(args))

    def reference(self, name: _Token) -> Node:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name.text):
            raise self.fail(f"{name.text!r} is not a KPI id (lower-case letters, digits and _)", name)
        reference = "current"
        if self.tok.kind == "op" and self.tok.text == "@":
            self.i += 1
            ref = self.tok
            if ref.kind != "name" or ref.text not in REFERENCES:
                found = "nothing" if ref.kind == "end" else repr(ref.text)
                raise self.fail(f"after '@' use one of {', '.join(REFERENCES)}, not {found}", ref)
            self.i += 1
            reference = ref.text
        return Ref(name.text, reference)


# --- the expression ------------------------------------------------------------------


@dataclass(frozen=True)
class TargetExpr:
    source: str
    root: Node

    @property
    def references(self) -> frozenset[tuple[str, str]]:
        """Every (kpi_id, reference) the expression reads."""
        found: set[tuple[str, str]] = set()
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Ref):
                found.add((node.kpi_id, node.reference))
            elif isinstance(node, Neg):
                stack.append(node.operand)
            elif isinstance(node, BinOp):
                stack += [node.left, node.right]
            elif isinstance(node, Call):
                stack += list(node.args)
        return frozenset(found)

    @property
    def kpi_ids(self) -> set[str]:
        return {kpi_id for kpi_id, _ in self.references}

    def evaluate(self, lookup: Lookup) -> float:
        """The target's value; raises TargetUnavailable when a referenced value is unknown."""
        return self._eval(self.root, lookup)

    def _eval(self, node: Node, lookup: Lookup) -> float:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Ref):
            value = lookup(node.kpi_id, node.reference)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise TargetUnavailable(node.kpi_id, node.reference)
            return float(value)
        if isinstance(node, Neg):
            return -self._eval(node.operand, lookup)
        if isinstance(node, BinOp):
            left, right = self._eval(node.left, lookup), self._eval(node.right, lookup)
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            if right == 0:
                raise TargetExprError("division by zero", self.source, node.position)
            return left / right
        values = [self._eval(a, lookup) for a in node.args]
        if node.function == "min":
            return min(values)
        if node.function == "max":
            return max(values)
        if node.function == "abs":
            return abs(values[0])
        return float(round(values[0], int(values[1]) if len(values) > 1 else 0))


def parse_target(expr: str) -> TargetExpr:
    """Parse a target expression; TargetExprError (with the column) for anything not allowed."""
    if len(expr) > MAX_LENGTH:
        raise TargetExprError(f"expression longer than {MAX_LENGTH} characters", expr[:40] + "…", 40)
    return TargetExpr(expr, _Parser(expr).parse())


def lookup_from_series(
    series: Mapping[str, pd.Series], period: date, grain: Grain, *, baseline_period: date | None = None
) -> Lookup:
    """A lookup reading KPI series (period start -> value) around ``period``.

    ``current`` is the value for ``period``, ``previous`` the period before, ``last_year``
    the same period a year earlier and ``baseline`` the value for ``baseline_period``.
    """
    targets = {
        "current": period,
        "previous": shift(period, -1, grain),
        "last_year": shift(period, -periods_per_year(grain), grain),
        "baseline": baseline_period,
    }

    def lookup(kpi_id: str, reference: str) -> float | None:
        at = targets.get(reference)
        if kpi_id not in series or at is None:
            return None
        return period_values(series[kpi_id]).get(at)

    return lookup
