"""No personal data in the broker or the logs: task arguments are ids, log lines are counts."""
import ast
import logging
import re
from pathlib import Path

import pytest
import time_machine

from reminders.channels import TransientChannelError
from reminders.models import Reminder
from reminders.planner import reminders_plan
from reminders.sweeper import reminders_sweep

from .conftest import local, make_enrolled, make_visit

ROOT = Path(__file__).resolve().parents[2]
CELERY_CALLS = {"delay", "apply_async", "s", "si", "signature"}
OPTIONS = {"countdown", "eta", "expires", "queue", "priority", "retry", "link", "link_error",
           "task_id", "headers", "serializer", "routing_key", "exchange", "immutable"}
ID_NAME = re.compile(r"(^|_)(ids?|pks?)$")


def _is_id_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return bool(ID_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(ID_NAME.search(node.attr))
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, int)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {
            "int", "list", "sorted", "tuple"}:
        return all(_is_id_like(arg) for arg in node.args)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_id_like(element) for element in node.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
        return _is_id_like(node.elt)
    if isinstance(node, ast.Subscript):
        return _is_id_like(node.value)
    return False


def _bad_task_arguments(tree: ast.AST) -> list[int]:
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in CELERY_CALLS):
            continue
        values = list(node.args)
        for keyword in node.keywords:
            if keyword.arg in OPTIONS:
                continue
            if keyword.arg == "args" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                values += keyword.value.elts
            elif keyword.arg == "kwargs" and isinstance(keyword.value, ast.Dict):
                values += keyword.value.values
            else:
                values.append(keyword.value)
        if not all(_is_id_like(value) for value in values):
            bad.append(node.lineno)
    return bad


def test_it_passes_only_ids_to_celery_tasks():
    sources = [path for path in ROOT.rglob("*.py")
               if not {".venv", "node_modules", "migrations"} & set(path.parts)]
    offenders = {str(path.relative_to(ROOT)): lines for path in sources
                 if (lines := _bad_task_arguments(ast.parse(path.read_text(), str(path))))}
    assert offenders == {}
    assert _bad_task_arguments(ast.parse("send.delay(participant.email)"))  # the check bites
    assert _bad_task_arguments(ast.parse("send.apply_async(args=[body], countdown=3)"))
    assert not _bad_task_arguments(ast.parse("send.apply_async(args=[reminder_ids], countdown=3)"))


class FailingOnceBackend:
    sent = 0

    def send(self, message):
        FailingOnceBackend.sent += 1
        if FailingOnceBackend.sent == 1:
            raise TransientChannelError("http_503")
        return "SMok"


@pytest.mark.django_db(transaction=True)
def test_it_logs_no_names_phones_or_emails_during_a_full_run(site, caplog, settings,
                                                             eager_celery):
    settings.SMS_BACKEND = f"{__name__}.FailingOnceBackend"
    caplog.set_level(logging.DEBUG)
    with time_machine.travel(local("America/New_York", 2026, 2, 2, 9, 0), tick=False):
        people = [make_enrolled(site, channels="both")[0] for _ in range(3)]
        for participant in people:
            make_visit(participant, local("America/New_York", 2026, 2, 4, 18, 0))
        reminders_plan()
    for moment in (local("America/New_York", 2026, 2, 3, 18, 0),
                   local("America/New_York", 2026, 2, 3, 18, 2),
                   local("America/New_York", 2026, 2, 4, 16, 0)):
        with time_machine.travel(moment, tick=False):
            reminders_sweep()
    assert Reminder.objects.filter(status="sent").count() == 9
    assert "reminder batch" in caplog.text
    secrets = [value for p in people for value in (p.first_name, p.last_name, p.email, p.phone)]
    assert [secret for secret in secrets if secret in caplog.text] == []
