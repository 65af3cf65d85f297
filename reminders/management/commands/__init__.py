"""`manage.py restore_fence`."""
