"""The participants changelist writes its actions bar itself (participants/admin.py,
actions_html): it must be Django's {% admin_actions %}, byte for byte."""
import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from participants.admin import ParticipantAdmin
from tests import factories

pytestmark = pytest.mark.django_db

OURS = Template("{% load participant_admin %}{% participant_actions %}{% participant_actions %}")
DJANGOS = Template("{% load admin_list %}{% admin_actions %}{% admin_actions %}")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("per_page", [50, 2])
@pytest.mark.parametrize("counter", [True, False])
def test_its_actions_bar_is_djangos(admin_client, monkeypatch, language, per_page, counter):
    monkeypatch.setattr(ParticipantAdmin, "list_per_page", per_page)
    monkeypatch.setattr(ParticipantAdmin, "actions_selection_counter", counter)
    site = factories.SiteFactory()
    for name in ("Ann", "Bea", "Cy"):
        factories.ParticipantFactory(home_site=site, first_name=name)

    with translation.override(language):
        response = admin_client.get(reverse("admin:participants_participant_changelist"))
        assert response.status_code == 200
        values = response.context_data
        ours = OURS.render(Context(dict(values)))
        djangos = DJANGOS.render(Context(dict(values)))

    assert ours == djangos
    assert ours.split('<div class="actions">')[1] in response.content.decode()
    assert 'value="show_attendance"' in ours and 'name="index" value="1"' in ours
    assert ("Select all 3" in ours) == (counter and per_page == 2)


def test_a_chosen_action_or_another_form_gets_djangos_template(admin_client, monkeypatch):
    from django.contrib.admin.helpers import ActionForm

    class NoteForm(ActionForm):
        pass

    monkeypatch.setattr(ParticipantAdmin, "action_form", NoteForm)
    factories.ParticipantFactory()
    response = admin_client.get(reverse("admin:participants_participant_changelist"))
    values = response.context_data

    assert OURS.render(Context(dict(values))) == DJANGOS.render(Context(dict(values)))
