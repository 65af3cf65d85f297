"""`make run`'s process manager: honcho, made to restart a process that dies and to stop each
process the way Ctrl-C in a terminal would.

Restarts: stock honcho stops everything when one process exits, so a Celery worker that dies
(e.g. kombu failing on a lost broker connection, or the OOM killer) would take the app down, and
reminders with it. Here a process that exits on its own is started again after a short backoff
(1 s, doubling to 30 s while it keeps dying within 10 s of its start); only a process that dies
that quickly 5 times in a row (a configuration error: port taken, database missing) stops
everything, so a broken setup fails loudly instead of looping. Production runs the same
processes under systemd with Restart=always (deploy/systemd/).

Stopping: stock honcho sends SIGTERM to each process group on Ctrl-C and SIGKILL 5 s later. Both
hurt a Celery worker: SIGTERM reaches its prefork children, which die mid-task instead of
finishing (Celery's children ignore SIGINT so that the parent can shut down warmly), and over
kombu's filesystem transport the worker notices a signal only after its current 2 s poll, so a
warm shutdown takes 4-7 s and honcho kills it halfway. Here each group gets SIGINT, as from a
terminal (honcho's log line still says "sending SIGTERM"), and up to 20 s before SIGKILL.
Honcho is pinned in requirements.txt, so these hooks stay where they are.
"""
import datetime
import multiprocessing
import os
import queue
import signal
import sys

import honcho.command
import honcho.manager
from honcho.command import main
from honcho.compat import ProcessManager

KILL_WAIT_SECONDS = 20
QUICK_EXIT_SECONDS = 10
MAX_QUICK_EXITS = 5
MAX_BACKOFF_SECONDS = 30


class InterruptingProcessManager(ProcessManager):
    def terminate(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGINT)
        except (PermissionError, ProcessLookupError):
            pass


class RestartingManager(honcho.manager.Manager):
    """honcho's Manager whose loop restarts a process that exits, until it is told to stop."""

    def loop(self) -> None:
        def _terminate(signum, frame):
            self._system_print("%s received\n" % honcho.manager.SIGNALS[signum]["name"])
            self.returncode = honcho.manager.SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        for name in self._processes:
            self._start_one(name)
        stop_started = None
        while True:
            try:
                msg = self.events.get(timeout=0.1)
            except queue.Empty:
                msg = None
            if msg is not None:
                self._handle(msg)
            now = self._clock.now()
            if not self._terminating:
                for name, process in self._processes.items():
                    if process.get("restart_at") and process["restart_at"] <= now:
                        self._start_one(name)
            elif self._all_stopped():
                if msg is None:
                    break
            else:
                stop_started = stop_started or now
                if now - stop_started > datetime.timedelta(seconds=KILL_WAIT_SECONDS):
                    self.kill()

    def _start_one(self, name: str) -> None:
        process = self._processes[name]
        for key in ("pid", "returncode", "restart_at"):
            process.pop(key, None)
        process["started_at"] = self._clock.now()
        process["process"] = multiprocessing.Process(name=name, target=process["obj"].run,
                                                     args=(self.events, True))
        process["process"].start()

    def _handle(self, msg) -> None:
        process = self._processes[msg.name]
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start":
            process["pid"] = msg.data["pid"]
            self._system_print("%s started (pid=%s)\n" % (msg.name, msg.data["pid"]))
            if self._terminating:  # restarted just as Ctrl-C came: stop it too
                self._procmgr.terminate(process["pid"])
        elif msg.type == "stop":
            returncode = process["returncode"] = msg.data["returncode"]
            self._system_print("%s stopped (rc=%s)\n" % (msg.name, returncode))
            if not self._terminating:
                self._schedule_restart(msg.name, returncode)

    def _killall(self, force: bool = False) -> None:
        # A process restarted a moment ago has no pid until its "start" message arrives.
        for name, process in self._processes.items():
            if "returncode" not in process and process.get("pid"):
                self._system_print("sending %s to %s (pid %s)\n" % (
                    "SIGKILL" if force else "SIGTERM", name, process["pid"]))
                if force:
                    self._procmgr.kill(process["pid"])
                else:
                    self._procmgr.terminate(process["pid"])

    def _schedule_restart(self, name: str, returncode: int) -> None:
        process = self._processes[name]
        now = self._clock.now()
        quick = now - process["started_at"] < datetime.timedelta(seconds=QUICK_EXIT_SECONDS)
        process["quick_exits"] = process.get("quick_exits", 0) + 1 if quick else 0
        if process["quick_exits"] >= MAX_QUICK_EXITS:
            self._system_print("%s exited %s times within %s s of starting; stopping all\n"
                               % (name, MAX_QUICK_EXITS, QUICK_EXIT_SECONDS))
            self.returncode = returncode or 1
            self.terminate()
            return
        backoff = min(2 ** max(process["quick_exits"] - 1, 0), MAX_BACKOFF_SECONDS)
        process["restart_at"] = now + datetime.timedelta(seconds=backoff)
        self._system_print("%s exited on its own; restarting in %s s\n" % (name, backoff))


honcho.manager.ProcessManager = InterruptingProcessManager
honcho.manager.KILL_WAIT = KILL_WAIT_SECONDS
honcho.command.Manager = RestartingManager

if __name__ == "__main__":
    sys.exit(main())
