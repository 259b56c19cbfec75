"""Django settings for the Headway web app, all from the environment (see docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path

from headway.app.env import database_from_url, env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("HEADWAY_DATA_DIR", str(Path.cwd() / "headway-data"))).resolve()

DEBUG = env_bool("HEADWAY_DEBUG", False)
SECRET_KEY = env_str("HEADWAY_SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept in the data folder, so sessions survive restarts.
    _key_file = DATA_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
# Encrypts stored source credentials (SQL passwords, API keys); defaults to the secret key.
HEADWAY_ENCRYPTION_KEY = env_str("HEADWAY_ENCRYPTION_KEY", "") or SECRET_KEY
# Largest file the upload wizard accepts.
HEADWAY_MAX_UPLOAD_MB = env_int("HEADWAY_MAX_UPLOAD_MB", 200, minimum=1)

ALLOWED_HOSTS = env_list("HEADWAY_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("HEADWAY_CSRF_TRUSTED_ORIGINS", [])
HTTPS = env_bool("HEADWAY_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("HEADWAY_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("HEADWAY_BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions live in the database, read through the cache: a page view costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SAMESITE = "Lax"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "headway.app.accounts",
    "headway.app.kpis",
    "headway.app.strategy",
    "headway.app.sources",
    "headway.app.automation",
    "headway.app.forecasts",
    "headway.app.insights",
    "headway.app.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "headway.app.accounts.tenancy.TenancyMiddleware",
]

ROOT_URLCONF = "headway.app.urls"
WSGI_APPLICATION = "headway.app.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "headway.app.accounts.tenancy.org_context",
            ]
        },
    }
]

_db_url = env_str("DATABASE_URL", "")
if _db_url:
    DATABASES = {"default": database_from_url(_db_url)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "headway.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "scorecard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_HOST = env_str("HEADWAY_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("HEADWAY_EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("HEADWAY_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("HEADWAY_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HEADWAY_EMAIL_TLS", False)
EMAIL_BACKEND = env_str("HEADWAY_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("HEADWAY_EMAIL_FROM", "headway@localhost")

# How refreshes run: in a background thread of the web process (default) or inline (tests).
HEADWAY_JOBS = env_choice("HEADWAY_JOBS", "thread", ("thread", "sync"))
# The job queue (automation app): Huey on SQLite in the data folder, or Redis when REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL", "")
HEADWAY_JOB_LEASE_SECONDS = env_int("HEADWAY_JOB_LEASE_SECONDS", 120, minimum=3)
HEADWAY_RECOMPUTE_HOURS = env_int("HEADWAY_RECOMPUTE_HOURS", 24, minimum=1)
HEADWAY_ALERT_EVERY_MINUTES = env_int("HEADWAY_ALERT_EVERY_MINUTES", 15, minimum=1)
# Let notification webhooks reach loopback/private addresses (127/8, 10/8, 172.16/12, 192.168/16, ::1,
# fc00::/7); link-local / cloud metadata addresses stay refused. Off: they are refused (SSRF guard).
HEADWAY_WEBHOOK_ALLOW_PRIVATE = env_bool("HEADWAY_WEBHOOK_ALLOW_PRIVATE", False)
# The address people open the app at (links in alert notifications), e.g. https://kpi.example.com
HEADWAY_BASE_URL = env_str("HEADWAY_BASE_URL", "")
LOGIN_ATTEMPTS_PER_15_MIN = env_int("HEADWAY_LOGIN_ATTEMPTS", 10, minimum=1)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("HEADWAY_LOG_LEVEL", "INFO")},
    # PDF rendering logs every layout step at INFO; keep its warnings only.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
