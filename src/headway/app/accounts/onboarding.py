"""Creating organisations: from a business template, and the demo organisation from generated data."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from headway.app.accounts.models import Department, Member, Organization, Role
from headway.app.kpis.models import Dataset, KpiDefinition, KpiSource
from headway.engine.canonical import CANONICAL
from headway.engine.catalog import load_catalog
from headway.engine.templates import get_template
from headway.engine.warehouse import DuckDBWarehouse


def unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def create_org(name: str, owner, template_id: str | None = None, **fields: object) -> Organization:  # type: ignore[no-untyped-def]
    """A new organisation with ``owner`` as its owner, set up from a template if given."""
    org = Organization.objects.create(name=name, slug=unique_slug(name), **fields)
    Member.objects.create(user=owner, org=org, role=Role.OWNER)
    if template_id:
        apply_template(org, template_id)
    return org


def apply_template(org: Organization, template_id: str) -> None:
    """Departments and the KPIs of the template's objectives, from the catalog (idempotent)."""
    template = get_template(template_id)
    catalog = load_catalog()
    departments: dict[str, Department] = {}
    for dept in template.departments:
        departments[dept.id], _ = Department.objects.get_or_create(org=org, name=dept.name)
    for dept in template.departments:
        if dept.parent and dept.parent in departments:
            departments[dept.id].parent = departments[dept.parent]
            departments[dept.id].save(update_fields=["parent"])
    position = KpiDefinition.objects.filter(org=org).count()
    for objective in template.objectives:
        for kpi_id in objective.kpis:
            kpi = catalog.get(kpi_id)
            _, created = KpiDefinition.objects.get_or_create(
                org=org,
                kpi_id=kpi_id,
                defaults={
                    "spec": KpiDefinition.spec_json(kpi),
                    "source": KpiSource.CATALOG,
                    "department": departments.get(objective.department),
                    "position": position,
                },
            )
            position += created
    org.template = template_id
    org.save(update_fields=["template"])


def load_demo_data(org: Organization, business: str = "ecommerce", size: str = "small", seed: int = 42) -> None:
    """Generate demo data into the org's warehouse and register its datasets."""
    from headway.demo import generate

    data = generate(business, size=size, seed=seed)
    path = org.warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    wh = DuckDBWarehouse(path)
    try:
        for name, df in data.datasets.items():
            wh.load_frame(name, df, dataset_type=name if name in CANONICAL else None)
            ctype = CANONICAL.get(name)
            time_col = ctype.time_field if ctype else ""
            first = last = None
            if time_col and time_col in df.columns and len(df):
                first, last = df[time_col].min().date(), df[time_col].max().date()
            Dataset.objects.update_or_create(
                org=org,
                name=name,
                defaults={
                    "dataset_type": name if ctype else "",
                    "rows": len(df),
                    "first_date": first,
                    "last_date": last,
                },
            )
    finally:
        wh.close()


DEMO_TEMPLATES = {"bakery": "bakery_cafe"}


def create_demo_org(
    username: str = "demo", password: str = "headway-demo", business: str = "ecommerce", size: str = "small"
) -> Organization:
    """The demo organisation: a user, an org from the business's template, generated data, computed KPIs."""
    from headway.app.kpis.models import Run
    from headway.app.kpis.refresh import execute

    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(password)
    user.save()
    template_id = DEMO_TEMPLATES.get(business, business)
    org = Organization.objects.filter(members__user=user, template=template_id).first()
    if org is None:
        org = create_org(f"Demo {business.title()} Ltd", user, template_id, currency="EUR")
    load_demo_data(org, business, size)
    run = Run.objects.create(org=org)
    execute(run.pk)
    org.refresh_from_db()
    # Objectives and starter goals from the template, dated from the quarter the demo data ends
    # in (its own "today"): the 3-month goals have just ended (achieved / missed), the longer
    # ones are under way.
    from headway.app.strategy.starter import apply_template_strategy

    owner = org.members.filter(user=user).first()
    data_end = org.current_run.data_as_of if org.current_run and org.current_run.data_as_of else None
    apply_template_strategy(org, owner, start=data_end)
    return org
