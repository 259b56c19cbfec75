"""The `headway` command line."""

import typer

app = typer.Typer(help="Headway: strategic KPIs for small businesses.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the Headway version."""
    from headway import __version__

    typer.echo(__version__)
