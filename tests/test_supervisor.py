"""Workers and beat come back when they die: `make run`'s process manager restarts them, and the
production systemd units say Restart=always."""
import configparser
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .test_make_run import (
    BIN, ROOT, STARTUP_TIMEOUT, STOP_TIMEOUT, _session_members, _wait_for, newcomer_env,
)

UNITS = ROOT / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize("name, command", [
    ("iop-worker.service", "-A iop_clinic worker"),
    ("iop-beat.service", "-A iop_clinic beat"),
])
def test_it_runs_worker_and_beat_under_systemd_that_always_restarts_them(name, command):
    unit = _unit(name)
    service = unit["Service"]
    assert service["Restart"] == "always"
    assert 0 < int(service["RestartSec"]) <= 10
    # Never give up restarting (systemd stops after 5 starts in 10 s unless told otherwise).
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert command in service["ExecStart"] and "/celery " in service["ExecStart"]
    assert "DJANGO_SETTINGS_MODULE=iop_clinic.settings.production" in service["Environment"]
    assert service["EnvironmentFile"]
    # A warm shutdown lets the task in hand finish; KillMode=mixed SIGTERMs only the main
    # process first (the prefork children must not die mid-task), then SIGKILLs the rest.
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) >= 30
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "postgresql.service" in unit["Unit"]["After"] and "redis" in unit["Unit"]["After"]


def test_it_runs_exactly_one_beat():
    beat = _unit("iop-beat.service")["Service"]["ExecStart"]
    assert "--schedule=/var/lib/iop/celerybeat-schedule" in beat
    worker = _unit("iop-worker.service")["Service"]["ExecStart"]
    assert " -B" not in worker and "--beat" not in worker  # no second beat inside a worker


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_it_restarts_a_worker_killed_with_sigkill_under_make_run(tmp_path):
    env = newcomer_env(tmp_path)
    (tmp_path / "empty.env").write_text("")
    # The Procfile's worker line alone: this test is about the worker, the other test about all.
    worker_line = next(line for line in (ROOT / "Procfile").read_text().splitlines()
                       if line.startswith("worker:"))
    (tmp_path / "Procfile").write_text(worker_line + "\n")
    manager = subprocess.Popen(
        [sys.executable, "scripts/run_procfile.py", "start", "-f", str(tmp_path / "Procfile"),
         "-d", str(ROOT), "-e", str(tmp_path / "empty.env")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(line.rstrip() for line in manager.stdout),
                              daemon=True)
    reader.start()

    def worker_pids() -> list[int]:
        return [int(match[1]) for line in list(output)
                if (match := re.search(r"\| worker\S* started \(pid=(\d+)\)", line))]

    def ping_answered(count: int):
        def answered() -> bool:
            return sum("health_ping[" in line and "succeeded" in line for line in output) >= count
        subprocess.run([str(BIN / "celery"), "-A", "iop_clinic", "call", "iop_clinic.health_ping"],
                       cwd=ROOT, env=env, capture_output=True, timeout=60, check=True)
        _wait_for(answered, STARTUP_TIMEOUT, f"worker to answer ping {count}", output)

    try:
        _wait_for(lambda: sum("ready." in line for line in output) >= 1, STARTUP_TIMEOUT,
                  "the worker to be ready", output)
        ping_answered(1)
        first = worker_pids()[0]
        assert _session_members({first})

        os.killpg(first, signal.SIGKILL)  # the worker and its pool, as the OOM killer might

        _wait_for(lambda: sum("ready." in line for line in output) >= 2, STARTUP_TIMEOUT,
                  "the worker to come back", output)
        second = worker_pids()[-1]
        assert second != first and not _session_members({first})
        ping_answered(2)
        assert manager.poll() is None  # the manager kept going

        os.killpg(manager.pid, signal.SIGINT)
        manager.wait(timeout=STOP_TIMEOUT)
        _wait_for(lambda: not _session_members({second}), STOP_TIMEOUT,
                  "the restarted worker to stop on Ctrl-C", output)
    finally:
        if manager.poll() is None:
            os.killpg(manager.pid, signal.SIGKILL)
            manager.wait()
        for pid in _session_members(set(worker_pids())):
            os.kill(pid, signal.SIGKILL)
    reader.join(timeout=5)
    assert any(re.search(r"worker\S* exited on its own; restarting in 1 s", line) for line in output), output
    assert not any("sending SIGKILL" in line for line in output), "\n".join(output)


@pytest.mark.e2e
def test_it_stops_everything_when_a_process_keeps_dying_at_start(tmp_path):
    (tmp_path / "Procfile").write_text(f"broken: {sys.executable} -c 'raise SystemExit(3)'\n")
    (tmp_path / "empty.env").write_text("")
    result = subprocess.run(
        [sys.executable, "scripts/run_procfile.py", "start", "-f", str(tmp_path / "Procfile"),
         "-d", str(tmp_path), "-e", str(tmp_path / "empty.env")],
        cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert result.returncode == 3
    assert len(re.findall(r"broken\S* started", result.stdout)) == 5
    assert re.search(r"broken\S* exited 5 times within 10 s of starting; stopping all", result.stdout)
