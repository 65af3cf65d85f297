"""The Spanish catalogue: every string a participant can see is translated, none is fuzzy, each
keeps its placeholders, and the committed .mo is the compiled .po.

`makemessages` runs on a temporary copy of the source (so the checkout is never touched): a
string marked for translation but missing from locale/es fails here, in `make test` and CI.
Staff pages stay English, so only entries used by a participant-facing file must be filled.
"""
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from participants.models import (
    ConsentChannel, ConsentSource, DischargeReason, EnrollmentStatus, ReminderChannels,
    StepDownLevel,
)
from programs.models import SessionKind
from reminders.models import ReminderChannel
from sessions.models import AttendanceStatus, ExcuseStatus, SessionStatus

from tests.conftest import _service_missing

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# What makemessages reads: our code and templates, not the virtualenv, tests or benchmarks.
EXTRACTION_IGNORES = [".venv", "node_modules", "staticfiles", "bench", "tests", "test-artifacts",
                      "var", "backups", "scripts", "deploy", "docs"]
PARTICIPANT_FACING = re.compile(
    r"^(portal/|templates/(portal|emails|errors|registration)/|templates/base\.html"
    r"|reminders/(notice_)?messages\.py|participants/portal_accounts\.py|accounts/errors\.py"
    r"|iop_clinic/settings/|sessions/services/(excuses|offers)\.py)")
# Labels the portal shows through get_..._display, defined in models staff use too.
PORTAL_CHOICES = [*AttendanceStatus.labels, *ReminderChannel.labels, *ReminderChannels.labels,
                  *StepDownLevel.labels, *SessionKind.labels,
                  # the readable record (portal/record.py): consents, enrollments, visits
                  *ConsentChannel.labels, *ConsentSource.labels, *EnrollmentStatus.labels,
                  *DischargeReason.labels, *SessionStatus.labels, *ExcuseStatus.labels]
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _unquote(parts: list[str]) -> str:
    return "".join(parts).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list), refs, flags."""
    entries, current, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current and "msgid" in current:
                entries.append(current)
            current = None
            continue
        current = current or {"refs": [], "flags": [], "msgstr": {}}
        if line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#:"):
            current["refs"] += line[2:].split()
        elif line.startswith("#,"):
            current["flags"] += [flag.strip() for flag in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif match := re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) "(.*)"$', line):
            name, index, text = match.groups()
            if name.startswith("msgstr"):
                field = ("msgstr", int(index or 0))
                current["msgstr"][field[1]] = [text]
            else:
                field = (name, None)
                current[name] = [text]
        elif line.startswith('"'):
            target = current["msgstr"][field[1]] if field[0] == "msgstr" else current[field[0]]
            target.append(line[1:-1])
    for entry in entries:
        for name in ("msgctxt", "msgid", "msgid_plural"):
            if name in entry:
                entry[name] = _unquote(entry[name])
        entry["msgstr"] = [_unquote(entry["msgstr"][i]) for i in sorted(entry["msgstr"])]
    return [entry for entry in entries if entry["msgid"] and not entry.get("obsolete")]


def _require_gettext() -> None:
    if not (shutil.which("xgettext") and shutil.which("msgfmt") and shutil.which("msgmerge")):
        _service_missing("GNU gettext is not installed (apt-get install gettext)")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> list[dict]:
    """makemessages -l es on a copy of the source with the committed catalogue."""
    _require_gettext()
    copy = tmp_path_factory.mktemp("source") / "src"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "staticfiles", "var", "test-artifacts", "backups",
        "__pycache__", ".hypothesis", ".pytest_cache", "db.sqlite3"))
    command = [sys.executable, "manage.py", "makemessages", "-l", "es", "--no-obsolete"]
    for ignored in EXTRACTION_IGNORES:
        command += ["-i", ignored]
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.test"}
    subprocess.run(command, cwd=copy, env=environment, check=True, capture_output=True,
                   timeout=300)
    return parse_po(copy / "locale" / "es" / "LC_MESSAGES" / "django.po")


def _label(entry: dict) -> str:
    return f"{entry['msgid']!r} ({', '.join(entry['refs'][:2])})"


def test_it_has_every_participant_facing_string_translated(extracted):
    missing = [_label(entry) for entry in extracted
               if any(PARTICIPANT_FACING.match(ref) for ref in entry["refs"])
               and not all(entry["msgstr"])]
    assert not missing, "Spanish missing (run make messages, translate locale/es):\n" + \
        "\n".join(missing)


def test_it_translates_the_choices_the_portal_shows(extracted):
    by_msgid = {entry["msgid"]: entry for entry in extracted if "msgctxt" not in entry}
    missing = [str(label) for label in PORTAL_CHOICES
               if not all(by_msgid.get(str(label), {"msgstr": [""]})["msgstr"])]
    assert not missing


def test_it_has_no_fuzzy_translation(extracted):
    fuzzy = [_label(entry) for entry in extracted if "fuzzy" in entry["flags"]]
    assert not fuzzy, "fuzzy entries in locale/es (check and unmark them):\n" + "\n".join(fuzzy)


def test_it_finds_every_translated_message_still_in_the_code(extracted):
    """A translation makemessages no longer finds is dropped at the next `make messages`: a
    message handed to gettext through a variable (never a literal) loses its Spanish silently."""
    found = {(entry.get("msgctxt"), entry["msgid"]) for entry in extracted}
    lost = [_label(entry) for entry in parse_po(PO)
            if all(entry["msgstr"]) and (entry.get("msgctxt"), entry["msgid"]) not in found]
    assert not lost, "translated, but no longer found in the code:\n" + "\n".join(lost)


def test_it_keeps_every_placeholder_in_the_translation():
    broken = []
    for entry in parse_po(PO):
        for index, translation in enumerate(entry["msgstr"]):
            if not translation:
                continue
            source = entry["msgid_plural"] if index and "msgid_plural" in entry else entry["msgid"]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(translation)):
                broken.append(_label(entry))
    assert not broken


def test_it_ships_a_compiled_catalogue_that_matches_the_po(tmp_path):
    """The .mo is committed so `make run` needs no gettext; it must be the .po compiled."""
    _require_gettext()
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(PO)], check=True,
                   timeout=60)
    with MO.open("rb") as committed, fresh.open("rb") as compiled:
        assert gettext.GNUTranslations(committed)._catalog == \
            gettext.GNUTranslations(compiled)._catalog, \
            "locale/es/LC_MESSAGES/django.mo is stale: run make messages"
