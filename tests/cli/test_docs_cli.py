"""Every command and option of the CLI is documented in docs/cli.md."""

from pathlib import Path

import typer.main

from headway.cli.main import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(group, prefix: str = "headway"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def test_every_command_and_option_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        if f"## {path}" not in text:
            missing.append(path)
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in text:
                    missing.append(f"{path} {opt}")
    assert not missing, f"not in docs/cli.md: {missing}"
