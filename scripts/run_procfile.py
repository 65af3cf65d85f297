"""`make run`'s process manager: honcho, stopping each process the way Ctrl-C in a terminal would.

Stock honcho sends SIGTERM to each process group on Ctrl-C and SIGKILL 5 s later. Both hurt a
Celery worker: SIGTERM reaches its prefork children, which die mid-task instead of finishing
(Celery's children ignore SIGINT so that the parent can shut down warmly), and over kombu's
filesystem transport the worker notices a signal only after its current 2 s poll, so a warm
shutdown takes 4-7 s and honcho kills it halfway. Here each group gets SIGINT, as from a
terminal (honcho's log line still says "sending SIGTERM"), and up to 20 s before SIGKILL.
Honcho is pinned in requirements.txt, so these two hooks stay where they are.
"""
import os
import signal
import sys

import honcho.manager
from honcho.command import main
from honcho.compat import ProcessManager

KILL_WAIT_SECONDS = 20


class InterruptingProcessManager(ProcessManager):
    def terminate(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGINT)
        except (PermissionError, ProcessLookupError):
            pass


honcho.manager.ProcessManager = InterruptingProcessManager
honcho.manager.KILL_WAIT = KILL_WAIT_SECONDS

if __name__ == "__main__":
    sys.exit(main())
