"""`make run` for a newcomer: the Procfile's web app, worker and beat on SQLite and the filesystem
broker answer, run a task, and all stop on Ctrl-C."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 40
STOP_TIMEOUT = 20


def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """What a newcomer gets: SQLite and the filesystem broker, here in a temporary folder."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_", "CELERY_"))}
    return env | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "iop_clinic.settings.local",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(condition, timeout: float, what: str, output=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    tail = "\n".join(output[-60:]) if output is not None else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tail}")


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _session_members(session_ids: set[int]) -> list[int]:
    """Every live process whose session is one of `session_ids` (honcho gives each its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session in session_ids and state != "Z":
            members.append(int(entry.name))
    return members


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_it_runs_web_worker_and_beat_and_stops_them_all_on_ctrl_c(tmp_path):
    port = _free_port()
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    env = newcomer_env(tmp_path)
    project_entries = set(os.listdir(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                   env=env, check=True, timeout=120)

    honcho = subprocess.Popen(
        [sys.executable, "scripts/run_procfile.py", "start", "-f", "Procfile", "-p", str(port),
         "-e", str(empty_env_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, like make's in a terminal
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(line.rstrip() for line in honcho.stdout),
                              daemon=True)
    reader.start()
    children: set[int] = set()
    try:
        def started() -> bool:
            for line in list(output):
                if "started (pid=" in line:
                    children.add(int(line.rsplit("pid=", 1)[1].rstrip(")")))
            return len(children) == 3

        _wait_for(started, STARTUP_TIMEOUT, "honcho to start web, worker and beat", output)
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _status(f"{base}/healthz") == 200, STARTUP_TIMEOUT, "/healthz 200", output)
        assert _status(f"{base}/admin/login/") == 200

        _wait_for(lambda: any("celery@" in line and "ready." in line for line in output),
                  STARTUP_TIMEOUT, "the worker to be ready", output)
        sent = subprocess.run(
            [str(BIN / "celery"), "-A", "iop_clinic", "call", "iop_clinic.health_ping"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )
        task_id = sent.stdout.strip().splitlines()[-1]
        _wait_for(lambda: any(f"health_ping[{task_id}] succeeded" in line for line in output),
                  STARTUP_TIMEOUT, f"the worker to run health_ping {task_id}", output)
        _wait_for(lambda: any("beat: Starting" in line for line in output),
                  STARTUP_TIMEOUT, "beat to start", output)
        running = _session_members(children)
        # web, worker with its two pool processes, and beat: each at least one process.
        assert len(running) >= 5, output

        os.killpg(honcho.pid, signal.SIGINT)

        honcho.wait(timeout=STOP_TIMEOUT)
        _wait_for(lambda: not _session_members(children), STOP_TIMEOUT,
                  "every started process to exit", output)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
        for pid in _session_members(children):
            os.kill(pid, signal.SIGKILL)
    reader.join(timeout=5)
    assert any("SIGINT received" in line for line in output)
    # All runtime state went to VAR_DIR and the database file: nothing new in the project folder.
    assert set(os.listdir(ROOT)) - project_entries == set()
    assert not any("sending SIGKILL" in line for line in output), "\n".join(output)
    assert not any("Traceback" in line for line in output), "\n".join(output)
