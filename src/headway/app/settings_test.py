"""Settings for the test suite: a throw-away data folder, refreshes run inline, fast password hashing."""

import os
import tempfile

os.environ.setdefault("HEADWAY_DATA_DIR", tempfile.mkdtemp(prefix="headway-test-"))
os.environ.setdefault("HEADWAY_JOBS", "sync")

from headway.app.settings import *  # noqa: F403

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing folder otherwise

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
