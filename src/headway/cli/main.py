"""The `headway` command line: registers every command and sub-app."""

import typer

from headway.cli import catalog_cmd, check_cmd, compute_cmd, demo_cmd, import_cmd, templates_cmd, web_cmd, worker_cmd
from headway.cli.churn_cmd import churn as churn_command
from headway.cli.forecast_cmd import forecast_cmd
from headway.cli.review_cmd import review as review_command

app = typer.Typer(
    name="headway",
    help="Headway: strategic KPIs for small businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(catalog_cmd.app, name="catalog")
app.add_typer(templates_cmd.app, name="templates")
app.command("compute")(compute_cmd.compute)
app.command("forecast")(forecast_cmd)
app.command("churn")(churn_command)
app.command("check")(check_cmd.check)
app.command("import")(import_cmd.import_file)
app.command("demo-data")(demo_cmd.demo_data)
app.command("demo")(demo_cmd.demo)
app.command("review")(review_command)
app.command("serve")(web_cmd.serve)
app.command("web-demo")(web_cmd.web_demo)
app.command("worker")(worker_cmd.worker)
app.command("manage", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(web_cmd.manage)


@app.command()
def version() -> None:
    """Print the Headway version."""
    from headway import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
