"""The clinic's neutral name, logo and colour for every layout, and the favicon."""
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET


def contrast_with_white(color: str) -> float:
    """WCAG contrast ratio of white text on `color` ("#rrggbb")."""
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def clinic(request: HttpRequest) -> dict:
    """Template context: `clinic.name`, `clinic.logo` (a static path or "") and `clinic.color`."""
    return {"clinic": {"name": settings.CLINIC_NAME, "logo": settings.CLINIC_LOGO,
                       "color": settings.CLINIC_COLOR}}


@require_GET
@cache_control(public=True, max_age=3600)
def clinic_css(request: HttpRequest) -> HttpResponse:
    """The clinic's colour as a stylesheet: our CSP forbids inline styles."""
    body = f":root {{ --clinic-brand: {settings.CLINIC_COLOR}; }}\n" if settings.CLINIC_COLOR else ""
    return HttpResponse(body, content_type="text/css; charset=utf-8")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and the admin ask for /favicon.ico whatever the page's <link rel=icon> says."""
    return HttpResponsePermanentRedirect(staticfiles_storage.url("img/favicon.ico"))
