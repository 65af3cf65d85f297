"""The participants changelist writes its list filters itself (participants/admin.py,
PreparedRowsChangeList.filters_html): they must be Django's own, byte for byte."""
import pytest
from django.contrib.admin.templatetags.admin_list import admin_list_filter
from django.urls import reverse
from django.utils import translation

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    north = factories.SiteFactory(name='North <& "Co">')
    south = factories.SiteFactory(name="South")
    track = factories.TrackFactory(site=north, name="Evening & weekend")
    ann = factories.ParticipantFactory(home_site=north, first_name="Ann", reminder_channels="sms",
                                       language="es")
    factories.ParticipantFactory(home_site=south, first_name="Bea")
    factories.EnrollmentFactory(participant=ann, track=track, status="active")
    return {"north": north, "south": south}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("query", [
    {}, {"home_site__id__exact": "north"}, {"enrollment_status": "active"},
    {"reminder_channels__exact": "sms"}, {"language__exact": "es", "q": "Ann"},
    {"_facets": "True"}, {"_facets": "True", "home_site__id__exact": "south"},
    {"home_site__isnull": "True"},
])
def test_its_filters_are_djangos(admin_client, clinic, query, language):
    query = {k: (clinic[v].pk if v in clinic else v) for k, v in query.items()}

    with translation.override(language):
        response = admin_client.get(reverse("admin:participants_participant_changelist"), query)
        assert response.status_code == 200
        cl = response.context["cl"]
        ours = cl.filters_html()
        djangos = "".join(admin_list_filter(cl, spec) for spec in cl.filter_specs)

    assert ours == djangos
    assert ours in response.content.decode()
    assert "North &lt;&amp; &quot;Co&quot;&gt;" in ours


def test_a_filter_with_a_template_of_its_own_keeps_it(admin_client, clinic, monkeypatch):
    from participants.admin import EnrollmentStatusFilter
    from participants.models import EnrollmentStatus

    monkeypatch.setattr(EnrollmentStatusFilter, "template", "admin/filter.html ", raising=False)
    monkeypatch.setattr("participants.admin.get_template", lambda name: _Template(name))
    response = admin_client.get(reverse("admin:participants_participant_changelist"))

    statuses = len(EnrollmentStatus.choices) + 1  # and "All"
    assert f"[admin/filter.html : {statuses} choices]" in response.content.decode()


class _Template:
    def __init__(self, name):
        self.name = name

    def render(self, context):
        return f"[{self.name}: {len(context['choices'])} choices]"


def test_its_home_site_filter_lists_the_sites_django_lists(admin_client, clinic,
                                                           django_assert_max_num_queries):
    """The home-site filter reads the sites through a statement compiled once a process
    (CompiledRelatedFieldListFilter): every site, named and ordered as Django's own filter
    lists them, a site added since included."""
    from django.contrib.admin import RelatedFieldListFilter

    from participants.admin import CompiledRelatedFieldListFilter

    url = reverse("admin:participants_participant_changelist")
    for name in ("Aardvark Hill", "Zephyr <Bay>"):
        cl = admin_client.get(url).context["cl"]
        spec = cl.filter_specs[0]
        assert type(spec) is CompiledRelatedFieldListFilter
        field, admin_ = spec.field, cl.model_admin
        request = admin_client.get(url).wsgi_request
        djangos = RelatedFieldListFilter.field_choices(spec, field, request, admin_)
        with django_assert_max_num_queries(1):
            ours = spec.field_choices(field, request, admin_)
        assert ours == djangos
        assert [label for _pk, label in ours] == sorted(label for _pk, label in ours)
        factories.SiteFactory(name=name)
    assert len(ours) == 3 and 'North <& "Co">' in dict(ours).values()
