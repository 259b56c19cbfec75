"""`headway review`: the KPI portfolio review of an organisation in the app database, as a table or JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from headway.cli.formatting import OutputFormat, console, fail
from headway.cli.web_cmd import setup_django


def review(
    org: Annotated[str | None, typer.Option(help="Organisation slug (or id); needed when there are several.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.TABLE,
) -> None:
    """List what to fix in an organisation's KPIs, each finding with its suggested action."""
    setup_django()
    from headway.app.accounts.models import Organization
    from headway.app.strategy.portfolio import CHECK_TITLES, findings_json, run_review

    orgs = Organization.objects.all()
    if org is not None:
        found = orgs.filter(slug=org).first() or (orgs.filter(pk=int(org)).first() if org.isdigit() else None)
        if found is None:
            known = ", ".join(orgs.order_by("slug").values_list("slug", flat=True)[:20]) or "none yet"
            fail(f"no organisation {org!r} (organisations: {known})")
    else:
        count = orgs.count()
        if count != 1:
            slugs = ", ".join(orgs.order_by("slug").values_list("slug", flat=True)[:20])
            fail(f"{count} organisations: choose one with --org ({slugs})" if count else "no organisations yet")
        found = orgs.first()
    assert found is not None
    with console.status(f"Reviewing the KPIs of {found.name}…"):
        result = run_review(found)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps({"org": found.slug, **findings_json(result)}, indent=2))
        return
    due = " — [bold]the review is due[/]" if result.due else ""
    console.print(
        f"[bold]{escape(found.name)}[/]: {result.kpi_count} KPIs, data up to {result.data_as_of.isoformat()}; "
        f"next review {result.settings.next_review.isoformat()}{due}"
    )
    if not result.findings:
        console.print("Nothing to fix: every KPI serves an objective, has an owner, a guarded goal and fresh data.")
        return
    # One block per finding (not a table): long messages stay readable in any terminal width.
    current = ""
    for f in result.findings:
        if f.check != current:
            current = f.check
            console.print(f"\n[bold]{CHECK_TITLES[f.check]}[/]")
        colour = "yellow" if f.severity == "warning" else "cyan"
        console.print(f"  [{colour}]{f.severity}[/] {escape(f.message)}", soft_wrap=True)
        console.print(f"    Suggested action: {escape(f.action)}", soft_wrap=True)
    console.print(f"{len(result.findings)} findings.")
