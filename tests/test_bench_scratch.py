"""One bench at a time per scratch database (bench.scratch.hold_database): a second explain.py
or pages_cpu.py on the clinic web.py is serving issued a new feed token and broke its run."""
import os
import selectors
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from bench import scratch

ROOT = Path(__file__).resolve().parents[1]
HOLDER = ("import sys; sys.path.insert(0, sys.argv[1]); from bench.scratch import hold_database; "
          "hold_database(sys.argv[2], script='holder'); print('held', flush=True); "
          "sys.stdin.readline()")


@pytest.fixture
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path
    for handle in scratch._HELD.values():
        handle.close()
    scratch._HELD.clear()


def start_holder(name: str, lock_dir: Path) -> subprocess.Popen:
    """Another process holding `name`, once it says so (within 30 s)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ROOT), name],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(lock_dir)})
    with selectors.DefaultSelector() as selector:
        selector.register(holder.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=30), "the holder did not take the lock in 30 s"
    assert holder.stdout.readline().strip() == "held"
    return holder


def ask_from_another_process(name: str, lock_dir: Path) -> subprocess.CompletedProcess:
    """Another process asking for `name`, done (refused, or held and let go)."""
    return subprocess.run([sys.executable, "-c", HOLDER, str(ROOT), name], input="\n",
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TMPDIR": str(lock_dir)})


def test_a_second_process_is_told_the_database_is_in_use_and_takes_nothing(lock_dir):
    name = f"iop_t_{uuid.uuid4().hex[:8]}_web2000"
    holder = start_holder(name, lock_dir)
    try:
        with pytest.raises(SystemExit) as refused:
            scratch.hold_database(name, script="bench/explain.py")
        assert str(refused.value) == (
            f"bench/explain.py: another bench process is using {name} "
            f"({lock_dir / f'iop-bench-{name}.lock'} is locked); run one at a time")
        assert name not in scratch._HELD
        # Another database is free.
        scratch.hold_database(f"{name}_other", script="bench/explain.py")
        assert f"{name}_other" in scratch._HELD
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdin.close()
        holder.stdout.close()


def test_the_database_is_free_once_its_holder_ends_however_it_ends(lock_dir):
    name = f"iop_t_{uuid.uuid4().hex[:8]}_web200"
    holder = start_holder(name, lock_dir)
    holder.kill()  # no clean-up of its own: the kernel releases the lock
    holder.wait(timeout=30)
    holder.stdin.close()
    holder.stdout.close()
    scratch.hold_database(name, script="bench/web.py")
    # Held by this process now, and holding it again (web.py's sizes, a rerun) is no refusal.
    scratch.hold_database(name, script="bench/web.py")
    second = ask_from_another_process(name, lock_dir)
    assert second.returncode != 0, f"the second process was not refused: {second!r}"
    assert "holder: another bench process is using" in second.stderr


def test_every_scratch_database_a_bench_names_is_held(lock_dir, monkeypatch):
    """bench/web.py, explain.py and pages_cpu.py (`_web<size>`), reminders.py, reports.py and
    import_census.py all name theirs through `scratch_database`, which holds it."""
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iop_t")
    suffix = f"web{uuid.uuid4().hex[:8]}"
    name, url = scratch.scratch_database(suffix=suffix, script="bench/web.py")
    assert (name, url) == (f"iop_t_{suffix}", f"postgres://postgres@127.0.0.1:5432/iop_t_{suffix}")
    assert name in scratch._HELD
    holder = ask_from_another_process(name, lock_dir)
    assert holder.returncode != 0 and "another bench process is using" in holder.stderr
