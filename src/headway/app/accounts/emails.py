"""Emails the accounts app sends: invitations (text and HTML)."""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from headway.app.accounts.models import Invitation

log = logging.getLogger(__name__)


def invitation_link(request: HttpRequest, invitation: Invitation) -> str:
    return request.build_absolute_uri(reverse("invitation", args=[invitation.token]))


def send_invitation(request: HttpRequest, invitation: Invitation) -> bool:
    """Email the invitation link; False if the mail server could not be reached (the page shows the link anyway)."""
    context = {
        "invitation": invitation,
        "org": invitation.org,
        "link": invitation_link(request, invitation),
        "inviter": request.user,
    }
    subject = f"You're invited to {invitation.org.name} on Headway"
    try:
        send_mail(
            subject,
            render_to_string("accounts/email/invitation.txt", context),
            None,
            [invitation.email],
            html_message=render_to_string("accounts/email/invitation.html", context),
        )
    except (OSError, smtplib.SMTPException):
        log.exception("Could not email invitation %s to %s", invitation.pk, invitation.email)
        return False
    return True
