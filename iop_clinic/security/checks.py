"""System checks that keep the security settings from being weakened by accident."""
from django.conf import settings
from django.core.checks import Error, Tags, register

REDACTION_FILTER = "iop_clinic.security.logging.RedactContactDetailsFilter"


@register(Tags.security)
def check_csp_has_no_unsafe_inline(app_configs, **kwargs):
    directives = getattr(settings, "CONTENT_SECURITY_POLICY", {}).get("DIRECTIVES", {})
    errors = []
    for directive in ("script-src", "default-src"):
        if "'unsafe-inline'" in directives.get(directive, ()) or \
                "'unsafe-eval'" in directives.get(directive, ()):
            errors.append(Error(
                f"CONTENT_SECURITY_POLICY {directive} allows inline or eval'd script.",
                hint="Load scripts from static files, or give an inline block the CSP nonce.",
                id="security.E001",
            ))
    if not directives.get("script-src"):
        errors.append(Error("CONTENT_SECURITY_POLICY has no script-src.", id="security.E001"))
    return errors


@register(Tags.security)
def check_every_log_handler_redacts(app_configs, **kwargs):
    logging_config = getattr(settings, "LOGGING", {})
    redacting = {name for name, spec in logging_config.get("filters", {}).items()
                 if spec.get("()") == REDACTION_FILTER}
    return [
        Error(f"LOGGING handler {name!r} does not use the contact-details redaction filter.",
              hint=f"Add one of {sorted(redacting) or [REDACTION_FILTER]} to its 'filters'.",
              id="security.E002")
        for name, handler in logging_config.get("handlers", {}).items()
        if not redacting & set(handler.get("filters", ()))
    ]


@register(Tags.security)
def check_lockout_is_by_username(app_configs, **kwargs):
    parameters = getattr(settings, "AXES_LOCKOUT_PARAMETERS", None) or []
    if "username" not in parameters:
        return [Error("AXES_LOCKOUT_PARAMETERS must lock by username on its own.",
                      hint='Use ["username"] (optionally with more entries).',
                      id="security.E003")]
    return []
