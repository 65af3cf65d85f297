"""The Content-Security-Policy built once a process (iop_clinic.security.csp): every response
gets the header django-csp's own middleware gives it, byte for byte, with its own nonce."""
import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.decorators import csp, csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.http import HttpResponse, HttpResponseNotFound
from django.template import engines

from iop_clinic.security.csp import CachedPolicyCSPMiddleware

SCRIPT = engines["django"].from_string('<script nonce="{{ request.csp_nonce }}"></script>')


def uses_nonce(request):
    return HttpResponse(SCRIPT.render({}, request))


def plain(request):
    return HttpResponse("ok")


def with_header(request):
    response = HttpResponse("ok")
    response[HEADER] = "default-src 'none'"
    return response


def not_found(request):
    return HttpResponseNotFound("no")


VIEWS = {
    "uses the nonce": uses_nonce,
    "no nonce": plain,
    "own header": with_header,
    "404": not_found,
    "exempt": csp_exempt()(uses_nonce),
    "exempt report-only": csp_exempt(REPORT_ONLY=True)(uses_nonce),
    "update": csp_update({"img-src": ["https://tiles.example.org"]})(uses_nonce),
    "replace": csp_replace({"img-src": None})(plain),
    "own policy": csp({"default-src": [SELF]})(plain),
    "update report-only": csp_update({"img-src": ["https://x.example.org"]},
                                     REPORT_ONLY=True)(plain),
}
SETTINGS = {
    "project's": {},
    "report-only too": {"CONTENT_SECURITY_POLICY_REPORT_ONLY": {
        "DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE],
                       "report-uri": "/csp-report/"}}},
    "excluded prefix": {"CONTENT_SECURITY_POLICY": {
        "EXCLUDE_URL_PREFIXES": ["/static/"], "DIRECTIVES": {"default-src": [SELF]}}},
    "debug": {"DEBUG": True},
}


def _answer(middleware_class, view, rf, path):
    request = rf.get(path)
    request._csp_nonce = "Zm9yIHRoZSB0ZXN0IG9ubHk="  # the nonce either would have drawn
    response = middleware_class(view)(request)
    return {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("path", ["/", "/static/app.css"])
def test_it_sends_the_header_django_csp_sends(rf, settings, setting, view, path):
    for name, value in SETTINGS[setting].items():
        setattr(settings, name, value)

    ours = _answer(CachedPolicyCSPMiddleware, VIEWS[view], rf, path)
    theirs = _answer(CSPMiddleware, VIEWS[view], rf, path)

    assert ours == theirs


def test_each_response_gets_its_own_nonce(rf):
    middleware = CachedPolicyCSPMiddleware(uses_nonce)
    first, second = (middleware(rf.get("/")) for _ in range(2))
    nonces = [response.content.decode().split('nonce="')[1].split('"')[0]
              for response in (first, second)]

    assert nonces[0] != nonces[1]
    for response, nonce in zip((first, second), nonces, strict=True):
        assert f"'nonce-{nonce}'" in response[HEADER]
        assert response[HEADER].count("'nonce-") == 2  # script-src and style-src


def test_a_nonce_asked_for_after_the_header_is_refused(rf):
    request = rf.get("/")
    CachedPolicyCSPMiddleware(plain)(request)

    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
