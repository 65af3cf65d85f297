"""The shell package: loads the Celery app with Django so shared tasks bind to it."""
# Load the Celery app whenever Django starts so @shared_task binds to it.
from .celery_app import app as celery_app

__all__ = ("celery_app",)
