"""Which language a page is in: participant-facing pages follow the browser, the rest English.

Not Django's LocaleMiddleware: that one would follow the browser everywhere, so a clinician whose
browser prefers Spanish would get a half-translated staff site and a Spanish admin, and it
cannot know a signed-in participant's saved choice. Here the portal's own pages (and the sign-in
pages participants share with staff) follow Accept-Language, restricted to settings.LANGUAGES and
falling back to English; every other page is English. A signed-in participant's portal pages
then switch to `Participant.language` where the portal loads the participant anyway
(portal/access.py), and so do their error pages (accounts/errors.py), at no extra query.
"""
from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

# Pages a participant may see before signing in; everything under /portal/ besides.
PARTICIPANT_FACING_PREFIXES = ("/portal/", "/accounts/login/", "/accounts/logout/")
DEFAULT_LANGUAGE = "en"


def browser_language(request) -> str:
    """The first of the browser's languages that we have, else English."""
    language = translation.get_language_from_request(request)
    language = translation.get_supported_language_variant(language) if language else ""
    base = language.split("-")[0]
    return base if base in dict(settings.LANGUAGES) else DEFAULT_LANGUAGE


class ParticipantFacingLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        participant_facing = request.path_info.startswith(PARTICIPANT_FACING_PREFIXES)
        language = browser_language(request) if participant_facing else DEFAULT_LANGUAGE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        if participant_facing:
            patch_vary_headers(response, ("Accept-Language",))
            response.headers.setdefault("Content-Language", language)
        return response
