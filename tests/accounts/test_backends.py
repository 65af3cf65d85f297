"""The signed-in user is read through a statement compiled once a process
(accounts.backends.UserBackend): the same user as Django's ModelBackend finds, and the same
sign-outs at the next request when the account changes."""
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.forms.models import model_to_dict

from accounts.backends import BACKEND, LEGACY_BACKEND, UserBackend, user_by_id
from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/account/two-factor/recovery-codes/"  # any page that needs a login


def _fields(user: User) -> dict:
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


@pytest.mark.parametrize("extra_users", [0, 30])
def test_it_finds_the_user_modelbackend_finds(extra_users):
    factories.UserFactory.create_batch(extra_users)
    user = factories.StaffFactory(credentials="LCSW", first_name="Ana", last_name="Ruiz")

    found = UserBackend().get_user(user.pk)
    expected = ModelBackend().get_user(user.pk)

    assert isinstance(found, User)
    assert _fields(found) == _fields(expected)
    assert model_to_dict(found) == model_to_dict(expected)
    assert found._state.adding is False and found._state.db == "default"


def test_it_finds_nobody_for_an_unknown_or_inactive_user():
    inactive = factories.UserFactory(is_active=False)

    assert user_by_id(10**9) is None
    assert UserBackend().get_user(10**9) is None
    assert UserBackend().get_user(inactive.pk) is None


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, clinician):
    client.force_login(clinician)
    assert client.get(STAFF_PAGE).status_code == 200

    User.objects.filter(pk=clinician.pk).update(is_active=False)

    response = client.get(STAFF_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_changed_password_signs_the_old_session_out(client, clinician):
    client.force_login(clinician)
    assert client.get(STAFF_PAGE).status_code == 200

    clinician.set_password("an entirely new passphrase")
    clinician.save()

    response = client.get(STAFF_PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_a_session_signed_in_before_the_upgrade_stays_signed_in(client, clinician):
    client.force_login(clinician, backend=BACKEND)
    session = client.session
    session[BACKEND_SESSION_KEY] = LEGACY_BACKEND
    session.save()

    assert client.get(STAFF_PAGE).status_code == 200
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert client.get(STAFF_PAGE).status_code == 200
