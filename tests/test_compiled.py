"""iop_clinic.compiled: a statement compiled once with sentinels runs with each call's values,
reads what the ORM query reads (rows, or model instances with their select_related objects),
and refuses to compile when the ORM did not put the sentinels where they were promised."""
import pytest
from django.db.models import F, Value

from iop_clinic.compiled import compile_once, id_sentinels
from programs.models import Site
from sessions.models import TherapySession
from tests import factories

pytestmark = pytest.mark.django_db


def _fields(obj):
    if obj is None:
        return None
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _sessions(site_ids, title):
    return TherapySession.objects.filter(site_id__in=site_ids, title=title).select_related(
        "site", "room", "facilitator").order_by("pk")


@pytest.fixture
def sessions(site, other_site):
    third = factories.SiteFactory(name="Third")
    return [factories.TherapySessionFactory(site=s, track=factories.TrackFactory(site=s),
                                            title=title, room=room, facilitator=None)
            for s, title, room in [(site, "Group A", factories.RoomFactory(site=site)),
                                   (site, "Group B", None),
                                   (other_site, "Group A", None),
                                   (third, "Group A", factories.RoomFactory(site=third))]]


def test_a_list_of_ids_and_a_value_fill_their_slots_as_the_orm_query_reads(sessions):
    site_ids = sorted({s.site_id for s in sessions})
    for count in (1, 2, 3):
        ids, sentinels = id_sentinels("sites", count)
        compiler = _sessions(ids, "any title").query.get_compiler(using="default")
        query = compile_once(compiler, {**sentinels, "any title": "title"}, what="test",
                             model=TherapySession)
        for chosen in ([site_ids[0], site_ids[1], site_ids[2]][:count],
                       [site_ids[-1], site_ids[0], site_ids[1]][:count]):
            for title in ("Group A", "Group B", "none"):
                expected = list(_sessions(chosen, title))
                got = query.objects({"sites": chosen, "title": title})
                assert [_fields(o) for o in got] == [_fields(o) for o in expected]
                for obj, orm in zip(got, expected, strict=True):
                    assert not obj._state.adding and obj._state.db == "default"
                    for name in ("site", "room", "facilitator"):
                        field = TherapySession._meta.get_field(name)
                        assert field.is_cached(obj)
                        assert _fields(field.get_cached_value(obj)) == _fields(
                            getattr(orm, name))
                assert len(query.objects({"sites": chosen, "title": title}, limit=1)) == min(
                    1, len(expected))
                counted = query.with_sql(f"SELECT COUNT(*) FROM ({query.sql}) found",
                                         columns=[])
                assert counted.rows({"sites": chosen, "title": title}) == [(len(expected),)]


def test_it_refuses_sentinels_the_orm_did_not_compile_as_parameters(sessions):
    ids, sentinels = id_sentinels("sites", 2)
    compiler = _sessions(ids, "any title").query.get_compiler(using="default")
    with pytest.raises(AssertionError, match="the test query's parameters"):
        compile_once(compiler, {**sentinels, "another title": "title"}, what="test")
    with pytest.raises(AssertionError, match="reads other columns"):
        compile_once(_sessions(ids, "any title").query.get_compiler(using="default"),
                     {**sentinels, "any title": "title"}, what="test", model=Site)


def test_annotations_are_attributes_of_the_objects_as_the_orm_sets_them(sessions):
    site_ids = sorted({s.site_id for s in sessions})
    ids, sentinels = id_sentinels("sites", 3)

    def annotated(site_ids, title):
        return _sessions(site_ids, title).annotate(site_name=F("site__name"), one=Value(1))

    query = compile_once(annotated(ids, "any title").query.get_compiler(using="default"),
                         {**sentinels, "any title": "title"}, what="test", model=TherapySession)
    got = query.objects({"sites": site_ids, "title": "Group A"})
    expected = list(annotated(site_ids, "Group A"))
    assert len(got) == 3
    assert [(_fields(o), o.site_name, o.one) for o in got] == [
        (_fields(o), o.site_name, o.one) for o in expected]


def _state(obj):
    """Everything an instance holds: its attributes in order (deferred ones absent), its state,
    and the same for each select_related object it caches."""
    if obj is None:
        return None
    attributes = [(name, value) for name, value in obj.__dict__.items() if name != "_state"]
    cached = {name: _state(value) for name, value in obj._state.fields_cache.items()}
    return (type(obj), attributes, obj._state.adding, obj._state.db, cached,
            obj.get_deferred_fields())


@pytest.mark.parametrize("only", [None, ("title", "starts_at", "site__name", "room__name",
                                           "facilitator__username")])
def test_instances_built_plainly_are_those_the_orm_builds(sessions, only):
    """`objects` fills a plain model's instances itself (not through from_db): the same
    attributes in the same order, state, select_related objects and deferred fields as the
    ORM's, and with a pre_init or post_init receiver it goes through from_db again."""
    from django.db.models.signals import post_init, pre_init

    site_ids = sorted({s.site_id for s in sessions})
    ids, sentinels = id_sentinels("sites", 3)

    def read(site_ids, title):
        rows = _sessions(site_ids, title)
        return rows.only(*only) if only else rows

    query = compile_once(read(ids, "any title").query.get_compiler(using="default"),
                         {**sentinels, "any title": "title"}, what="test", model=TherapySession)
    assert query.instances.plain_models is not None
    expected = [_state(o) for o in read(site_ids, "Group A")]
    assert len(expected) == 3
    assert [_state(o) for o in query.objects({"sites": site_ids, "title": "Group A"})] == expected

    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    for signal in (pre_init, post_init):
        signal.connect(receiver, sender=Site)
        try:
            got = query.objects({"sites": site_ids, "title": "Group A"})
        finally:
            signal.disconnect(receiver, sender=Site)
        assert [_state(o) for o in got] == expected
        assert seen == [Site] * 3
        seen.clear()
