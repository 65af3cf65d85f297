"""For tests elsewhere that log in staff who must use a second factor (directors, superusers,
admin users): log in as if the authenticator-app code had been typed.

    from tests.security.helpers import force_login_verified
    force_login_verified(client, director)

Without it such a user is sent to /account/two-factor/setup/ (or /verify/) on every page, and
pytest-django's `admin_client` gets no further than the admin login.
"""
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def force_login_verified(client, user) -> TOTPDevice:
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, defaults={"name": "Authenticator app", "confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
