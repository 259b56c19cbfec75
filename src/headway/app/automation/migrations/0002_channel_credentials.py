"""Channel URLs and webhook signing secrets move into ``credentials``, encrypted (they were plain text).

Forward: every row's ``config["url"]`` and ``secret`` are encrypted into ``credentials``; ``config`` keeps
only the masked URL (``url_masked``) and the email addresses. Backward puts them back in plain text.
"""

import json
from typing import Any

from django.db import migrations, models

from headway.ingest import secrets


def _key() -> str:
    from headway.app.automation.models import channel_encryption_key

    return channel_encryption_key()


def encrypt_plain_rows(apps: Any, schema_editor: Any) -> None:
    """Encrypt the plain URL and secret of every channel row (rows already encrypted are left alone)."""
    from headway.app.automation.models import mask_url

    Channel = apps.get_model("automation", "Channel")
    key = _key()
    for channel in Channel.objects.all():
        config = dict(channel.config or {})
        plain = {}
        if config.get("url"):
            plain["url"] = str(config.pop("url"))
            config["url_masked"] = mask_url(plain["url"])
        config.pop("url", None)
        if channel.secret:
            plain["secret"] = channel.secret
        if not plain:
            continue
        if channel.credentials:  # should not happen; never lose what is there
            plain = {**json.loads(secrets.decrypt(channel.credentials, key).reveal()), **plain}
        channel.credentials = secrets.encrypt(json.dumps(plain), key)
        channel.config = config
        channel.secret = ""
        channel.save(update_fields=["credentials", "config", "secret"])


def decrypt_to_plain_rows(apps: Any, schema_editor: Any) -> None:
    """The way back: the URL into ``config["url"]`` and the secret into ``secret``, in plain text."""
    Channel = apps.get_model("automation", "Channel")
    key = _key()
    for channel in Channel.objects.exclude(credentials=""):
        plain = json.loads(secrets.decrypt(channel.credentials, key).reveal())
        config = dict(channel.config or {})
        config.pop("url_masked", None)
        if plain.get("url"):
            config["url"] = plain["url"]
        channel.config = config
        channel.secret = plain.get("secret", "")
        channel.credentials = ""
        channel.save(update_fields=["credentials", "config", "secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="credentials",
            field=models.TextField(blank=True, help_text="Encrypted JSON: the URL and the signing secret"),
        ),
        migrations.RunPython(encrypt_plain_rows, decrypt_to_plain_rows),
        # The plain column is dropped in 0003, in a transaction of its own (PostgreSQL will not alter a
        # table with row changes pending in the same transaction).
    ]
