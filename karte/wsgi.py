"""WSGI entry point (e.g. ``gunicorn karte.wsgi``)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karte.settings")
application = get_wsgi_application()
