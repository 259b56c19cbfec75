"""The organisation's settings pages, for admins and owners: organisation, members and invitations, departments.

Every object is looked up inside ``request.org``: an id from another organisation is not found (404).
"""

from __future__ import annotations

from zoneinfo import available_timezones

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from headway.app.accounts.emails import invitation_link, send_invitation
from headway.app.accounts.forms import DepartmentForm, InvitationForm, MemberForm, OrgSettingsForm, other_owners
from headway.app.accounts.models import Department, Invitation, Member, Organization, Role
from headway.app.accounts.tenancy import SESSION_KEY, member_required

admin_required = member_required(Role.ADMIN)


@admin_required
def org_settings(request: HttpRequest) -> HttpResponse:
    # A fresh copy, so a rejected form never shows its bad values in the page header.
    org = Organization.objects.get(pk=request.org.pk)  # type: ignore[attr-defined]
    form = OrgSettingsForm(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        form.save()
        note = " Refresh the KPIs to apply the new calendar." if form.has_changed() else ""
        messages.success(request, "Settings saved." + note)
        return redirect("settings_org")
    timezones = sorted(available_timezones())
    context = {"form": form, "timezones": timezones, "tab": "org"}
    return render(request, "accounts/settings/org.html", context, status=400 if form.errors else 200)


def _members_page(
    request: HttpRequest, invite_form: InvitationForm | None = None, bound: MemberForm | None = None
) -> HttpResponse:
    actor: Member = request.member  # type: ignore[attr-defined]
    rows = []
    members = Member.objects.filter(org=actor.org).select_related("user").prefetch_related("departments")
    for m in members.order_by("user__username"):
        form = bound if bound is not None and bound.instance.pk == m.pk else None
        editable = m.role != Role.OWNER or actor.has_role(Role.OWNER)
        form = form or MemberForm(instance=m, actor=actor, prefix=f"m{m.pk}")
        rows.append({"member": m, "editable": editable, "form": form})
    pending = [
        {"invitation": inv, "link": invitation_link(request, inv)}
        for inv in actor.org.invitations.filter(accepted_at__isnull=True).prefetch_related("departments")
    ]
    context = {
        "rows": rows,
        "pending": pending,
        "invite_form": invite_form or InvitationForm(actor=actor, prefix="invite"),
        "tab": "members",
    }
    return render(request, "accounts/settings/members.html", context, status=400 if bound or invite_form else 200)


@admin_required
def members(request: HttpRequest) -> HttpResponse:
    """The member list; a POST here invites someone."""
    if request.method != "POST":
        return _members_page(request)
    form = InvitationForm(request.POST, actor=request.member, prefix="invite")  # type: ignore[attr-defined]
    if not form.is_valid():
        return _members_page(request, invite_form=form)
    invitation = form.save(commit=False)
    invitation.org = request.org  # type: ignore[attr-defined]
    invitation.created_by = request.user
    invitation.save()
    form.save_m2m()
    if send_invitation(request, invitation):
        messages.success(request, f"Invitation emailed to {invitation.email}. You can also share its link below.")
    else:
        messages.warning(request, f"The email to {invitation.email} could not be sent; share the link below instead.")
    return redirect("settings_members")


def _target(request: HttpRequest, member_id: int) -> Member:
    """A member of the current org that the acting member may change: only an owner changes an owner."""
    target = get_object_or_404(Member, pk=member_id, org=request.org)  # type: ignore[attr-defined]
    if target.role == Role.OWNER and not request.member.has_role(Role.OWNER):  # type: ignore[attr-defined]
        raise PermissionDenied("Only an owner can change or remove an owner.")
    return target


@admin_required
@require_POST
def member_update(request: HttpRequest, member_id: int) -> HttpResponse:
    target = _target(request, member_id)
    form = MemberForm(request.POST, instance=target, actor=request.member, prefix=f"m{target.pk}")  # type: ignore[attr-defined]
    if not form.is_valid():
        return _members_page(request, bound=form)
    form.save()
    messages.success(request, f"{target.user.username} is now {target.get_role_display().lower()}.")
    if target.pk == request.member.pk and not target.can_admin:  # type: ignore[attr-defined]
        return redirect("scorecard")  # they stepped down and can no longer see the settings
    return redirect("settings_members")


@admin_required
@require_POST
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    with transaction.atomic():
        target = _target(request, member_id)
        if target.role == Role.OWNER and not other_owners(target).exists():
            messages.error(request, "The last owner cannot be removed; make someone else owner first.")
            return redirect("settings_members")
        target.delete()
    if target.user_id == request.user.pk:
        request.session.pop(SESSION_KEY, None)
        messages.info(request, f"You left {target.org.name}.")
        return redirect("scorecard")
    messages.success(request, f"{target.user.username} was removed from {target.org.name}.")
    return redirect("settings_members")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation,
        pk=invitation_id,
        org=request.org,  # type: ignore[attr-defined]
        accepted_at__isnull=True,
    )
    invitation.delete()
    messages.success(request, f"The invitation to {invitation.email} was withdrawn; its link no longer works.")
    return redirect("settings_members")


def department_tree(org: Organization) -> list[tuple[Department, int]]:
    """Departments in tree order with their depth (0 = top level)."""
    departments = list(Department.objects.filter(org=org).order_by("name"))
    children: dict[int | None, list[Department]] = {}
    for d in departments:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for d in children.get(parent, []):
            if d.pk not in seen:
                seen.add(d.pk)
                out.append((d, depth))
                walk(d.pk, depth + 1)

    walk(None, 0)
    return out


def _departments_page(
    request: HttpRequest, new_form: DepartmentForm | None = None, bound: DepartmentForm | None = None
) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    rows = []
    for department, depth in department_tree(org):
        form = bound if bound is not None and bound.instance.pk == department.pk else None
        form = form or DepartmentForm(instance=department, org=org, prefix=f"d{department.pk}")
        rows.append({"department": department, "depth": depth, "form": form})
    context = {"rows": rows, "new_form": new_form or DepartmentForm(org=org, prefix="new"), "tab": "departments"}
    return render(request, "accounts/settings/departments.html", context, status=400 if new_form or bound else 200)


@admin_required
def departments(request: HttpRequest) -> HttpResponse:
    """The department tree; a POST here creates a department."""
    if request.method != "POST":
        return _departments_page(request)
    form = DepartmentForm(request.POST, org=request.org, prefix="new")  # type: ignore[attr-defined]
    if not form.is_valid():
        return _departments_page(request, new_form=form)
    department = form.save()
    messages.success(request, f"Department “{department.name}” created.")
    return redirect("settings_departments")


@admin_required
@require_POST
def department_update(request: HttpRequest, department_id: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id, org=request.org)  # type: ignore[attr-defined]
    form = DepartmentForm(request.POST, instance=department, org=request.org, prefix=f"d{department.pk}")  # type: ignore[attr-defined]
    if not form.is_valid():
        return _departments_page(request, bound=form)
    form.save()
    messages.success(request, f"Department “{department.name}” saved.")
    return redirect("settings_departments")


@admin_required
@require_POST
def department_delete(request: HttpRequest, department_id: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id, org=request.org)  # type: ignore[attr-defined]
    # Removing a department from someone's scope would widen what they see, so ask for a decision first.
    scoped = Member.objects.filter(departments=department).select_related("user")
    invited = Invitation.objects.filter(departments=department, accepted_at__isnull=True)
    if scoped.exists() or invited.exists():
        names = ", ".join(sorted([m.user.username for m in scoped] + [i.email for i in invited]))
        messages.error(
            request,
            f"“{department.name}” can't be deleted: {names} {'is' if scoped.count() + invited.count() == 1 else 'are'} "
            "limited to it. Change their departments first.",
        )
        return redirect("settings_departments")
    with transaction.atomic():
        department.children.update(parent=department.parent)
        department.delete()
    messages.success(request, f"Department “{department.name}” deleted; its KPIs now belong to no department.")
    return redirect("settings_departments")
