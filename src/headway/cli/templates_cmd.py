"""`headway templates list|show`: industry templates (departments, objectives → KPIs, starter goals)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from headway.cli.formatting import OutputFormat, console, fail, format_value, plain, print_json
from headway.engine.catalog import load_catalog
from headway.engine.spec import Direction
from headway.engine.templates import StarterGoal, Template, get_template, load_templates

app = typer.Typer(help="Industry templates: departments, objectives, KPIs and starter goals.", no_args_is_help=True)


def find_template(template_id: str) -> Template:
    try:
        return get_template(template_id)
    except KeyError as exc:
        fail(str(exc.args[0]) if exc.args else f"no template '{template_id}'")


@app.command("list")
def list_templates(
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    """List the industry templates."""
    templates = load_templates()
    if output is OutputFormat.JSON:
        print_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "description": t.description,
                    "objectives": len(t.objectives),
                    "kpis": t.kpi_ids(),
                }
                for t in templates.values()
            ]
        )
        return
    table = Table(title=f"{len(templates)} templates", title_justify="left")
    table.add_column("ID", style="bold cyan", no_wrap=True)
    table.add_column("Name")
    table.add_column("Objectives", justify="right")
    table.add_column("KPIs", justify="right")
    table.add_column("Description", overflow="fold")
    for t in templates.values():
        table.add_row(t.id, escape(t.name), str(len(t.objectives)), str(len(t.kpi_ids())), escape(t.description))
    console.print(table)


def goal_text(goal: StarterGoal) -> str:
    catalog = load_catalog()
    kpi = catalog.kpis.get(goal.kpi)
    direction = goal.direction or (kpi.direction if kpi else Direction.HIGHER)
    target = format_value(goal.target, kpi.unit) if kpi else f"{goal.target:g}"
    word = "at least" if direction is Direction.HIGHER else "at most"
    text = f"goal: {goal.kpi} {word} {target} within {goal.deadline_months} months"
    return text + (f" [dim]— {escape(goal.note)}[/]" if goal.note else "")


@app.command("show")
def show_template(
    template_id: Annotated[str, typer.Argument(metavar="ID", help="Template id, e.g. ecommerce.")],
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.TABLE,
) -> None:
    """Show a template: departments, objectives → KPIs, starter goals."""
    template = find_template(template_id)
    if output is OutputFormat.JSON:
        print_json(plain(template))
        return
    catalog = load_catalog()
    console.print(f"[bold]{escape(template.name)}[/] [dim]({template.id})[/]")
    console.print(escape(" ".join(template.description.split())))
    tree = Tree("[bold]Departments[/]")
    nodes = {}
    for dept in template.departments:
        parent = nodes.get(dept.parent, tree) if dept.parent else tree
        nodes[dept.id] = parent.add(f"{escape(dept.name)} [dim]({dept.id})[/]")
    console.print(tree)
    objectives = Tree("[bold]Objectives → KPIs[/]")
    for objective in template.objectives:
        dept = template.department(objective.department)
        node = objectives.add(f"[bold]{escape(objective.name)}[/] [dim]({escape(dept.name)})[/]")
        for kpi_id in objective.kpis:
            kpi = catalog.kpis.get(kpi_id)
            name = escape(kpi.name) if kpi else "[red]not in the catalog[/]"
            node.add(f"[cyan]{kpi_id}[/] {name}")
        for goal in objective.goals:
            node.add(f"[green]{goal_text(goal)}[/]")
    console.print(objectives)
