"""WSGI entry point (gunicorn runs ``headway.app.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.app.settings")
application = get_wsgi_application()
