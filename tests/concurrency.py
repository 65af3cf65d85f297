"""Two writers at once on real PostgreSQL connections: the second starts while the first holds its
transaction open, and must either wait for the first's lock or be done without one."""
import threading
import time
from collections.abc import Callable

from django.db import connection, connections, transaction


def _thread(work, state: dict) -> threading.Thread:
    def run():
        try:
            state["pid"] = connection.cursor().connection.info.backend_pid
            work()
        except BaseException as exc:  # handed to the caller
            state["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def write_side_by_side(writes: dict[str, Callable[[], object]], first: str) -> None:
    """Run writes[first] in a transaction held open, then the other write beside it; return
    once both have committed, raising whatever either raised."""
    (second,) = set(writes) - {first}
    holding, release = threading.Event(), threading.Event()

    def first_writer():
        with transaction.atomic():
            writes[first]()
            holding.set()
            release.wait(15)

    first_state, second_state = {}, {}
    first_thread = _thread(first_writer, first_state)
    _wait_until(lambda: holding.is_set() or "error" in first_state, f"the {first} to be written")
    second_thread = _thread(writes[second], second_state)
    # The second writer either waits for the first's lock (as it must) or, without one, is done.
    _wait_until(lambda: not second_thread.is_alive()
                or ("pid" in second_state and _waiting_on_a_lock(second_state["pid"])),
                f"the {second} to wait or finish")
    release.set()
    first_thread.join(15)
    second_thread.join(15)
    assert "error" not in first_state and "error" not in second_state, (first_state, second_state)
