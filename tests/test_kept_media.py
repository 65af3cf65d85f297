"""KeptMedia: a changelist's media as the template reads them, rendered once a process, reads
as Django's Media does, and is forgotten when the settings change."""
from django import forms
from django.forms.widgets import Script
from django.test import override_settings

from iop_clinic.admin_mixins import KeptMedia, _plain_media


def _media() -> forms.Media:
    media = forms.Media(js=["admin/js/core.js", "https://cdn.example.org/x.js", "/abs/y.js"],
                        css={"all": ["admin/css/a.css"], "print": ["css/print.css"]})
    return media + forms.Media(js=["admin/js/actions.js", "admin/js/core.js"],
                               css={"screen": ["admin/css/b.css"]})


def test_each_part_reads_as_the_media_renders_it():
    media = _media()
    kept = KeptMedia(media)
    for _ in range(2):  # rendered, then kept
        assert kept["js"] == str(media["js"])
        assert kept["css"] == str(media["css"])
        assert str(kept) == str(media) == kept.__html__()


def test_a_change_of_settings_forgets_the_kept_text():
    media = _media()
    str(KeptMedia(media)["js"])
    with override_settings(STATIC_URL="/elsewhere/"):
        assert KeptMedia(media)["js"] == str(media["js"])
        assert "/elsewhere/admin/js/core.js" in KeptMedia(media)["js"]
    assert "/elsewhere/" not in KeptMedia(media)["js"]


def test_media_with_objects_of_their_own_markup_are_not_kept():
    assert _plain_media(_media())
    assert not _plain_media(forms.Media(js=[Script("admin/js/core.js", defer=True)]))
