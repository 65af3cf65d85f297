"""The production static storage: hashed URLs as the manifest says, each worked out once."""
import json

import pytest

from iop_clinic.static_storage import StaticFilesStorage


@pytest.fixture
def storage(tmp_path, settings):
    settings.DEBUG = False
    (tmp_path / "staticfiles.json").write_text(json.dumps(
        {"version": "1.1", "paths": {"css/app.css": "css/app.0123abcd.css"}, "hash": "x"}))
    return StaticFilesStorage(location=tmp_path, base_url="/static/")


def test_it_answers_the_hashed_url_of_the_manifest(storage):
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"


def test_it_works_a_url_out_once(storage, monkeypatch):
    storage.url("css/app.css")
    monkeypatch.setattr(storage, "stored_name", lambda name: pytest.fail("worked out again"))
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"


def test_it_still_refuses_a_file_the_manifest_lacks(storage):
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        storage.url("css/gone.css")
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        storage.url("css/gone.css")


def test_it_serves_names_unhashed_while_debugging(storage, settings):
    storage.url("css/app.css")
    settings.DEBUG = True
    assert storage.url("css/app.css") == "/static/css/app.css"
