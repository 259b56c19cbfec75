"""The plain-text ``secret`` column is gone: 0002 encrypted it into ``credentials``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0002_channel_credentials"),
    ]

    operations = [
        migrations.RemoveField(model_name="channel", name="secret"),
    ]
