"""WSGI entry point: what gunicorn or runserver serves."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop_clinic.settings.production")
application = get_wsgi_application()
