"""Stand-in until the channels branch merges: in-memory and file SMS backends."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import SmsMessage

outbox: list[SmsMessage] = []


def get_sms_backend(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    return import_string(backend or settings.SMS_BACKEND)(**kwargs)


class BaseSmsBackend:
    def __init__(self, **kwargs: Any) -> None:
        pass

    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Development only: prints each message to stdout."""

    def send(self, message: SmsMessage) -> str:
        print(f"SMS to {message.to}\n{message.body}\n{'-' * 79}", flush=True)
        return f"SM{uuid.uuid4().hex}"


class InMemoryBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return f"SM{uuid.uuid4().hex}"


class FileBackend(BaseSmsBackend):
    """One JSON file per message, renamed into place so readers never see half a message."""

    def __init__(self, *, file_path: str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.file_path = Path(file_path or settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> str:
        self.file_path.mkdir(parents=True, exist_ok=True)
        message_id = f"SM{uuid.uuid4().hex}"
        temporary = self.file_path / f".{message_id}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"id": message_id, "to": message.to, "from": message.sender,
                       "body": message.body}, handle)
        os.replace(temporary, self.file_path / f"{time.time_ns():020d}-{message_id}.json")
        return message_id


def file_outbox(file_path: str | os.PathLike | None = None) -> list[dict[str, str]]:
    folder = Path(file_path or settings.SMS_FILE_PATH)
    if not folder.is_dir():
        return []
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
