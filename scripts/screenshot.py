"""Render the `headway demo` scorecard to docs/screenshot.svg (the README's picture).

.venv/bin/python scripts/screenshot.py
"""

from pathlib import Path

from rich.console import Console

import headway.cli.formatting as formatting
from headway.cli.main import app

recorder = Console(record=True, width=110, highlight=False, force_terminal=True)
formatting.console = recorder
for module in ("headway.cli.demo_cmd", "headway.cli.scorecard"):
    mod = __import__(module, fromlist=["console"])
    if hasattr(mod, "console"):
        mod.console = recorder
try:
    app(["demo", "--dir", "demo-data"], standalone_mode=False)
finally:
    Path("docs/screenshot.svg").write_text(recorder.export_svg(title="make demo"))
