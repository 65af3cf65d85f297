"""`manage.py preflight`."""
