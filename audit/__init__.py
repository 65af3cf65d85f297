"""Audit controls: who changed (django-auditlog) and who viewed (AccessEvent) which chart."""
