"""Does a Celery worker survive Redis going away twice in quick succession? A figure, not a test.

    python bench/broker_loss.py [TRIALS]      # needs redis-server on PATH; default 6 trials

The check behind the celery/kombu pins in requirements.txt (issue 11): a bare Celery app (no
Django), one prefork worker holding exactly one acks_late task, and a private redis-server
without persistence that is killed, started again empty, and killed and started once more half
a second later. Each trial prints whether the worker process was still alive afterwards, and
whether its log shows kombu's `'NoneType' object has no attribute 'hostname'`. With celery 5.7.0
/ kombu 5.7.0 about four trials in five died; with 5.6.3 / 5.6.2 none did. Run it with the
versions you mean to pin before moving past the current ones.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = '''
import os, time
from celery import Celery
app = Celery("broker_loss", broker=os.environ["BROKER"])
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
app.conf.broker_connection_max_retries = None

@app.task(acks_late=True)
def work():
    time.sleep(3)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int, folder: Path) -> subprocess.Popen:
    import redis

    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port, socket_connect_timeout=0.2).ping():
                return process
        except redis.RedisError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not answer")


def trial(folder: Path) -> tuple[bool, bool]:
    port = free_port()
    env = {**os.environ, "BROKER": f"redis://127.0.0.1:{port}/0", "PYTHONPATH": str(folder)}
    server = start_redis(port, folder)
    log_path = folder / f"worker-{port}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "broker_loss_app", "worker", "--pool=prefork",
             "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel=INFO"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(log_path.read_text()[-2000:])
            time.sleep(0.1)
        subprocess.run([sys.executable, "-c", "from broker_loss_app import work; work.delay()"],
                       cwd=folder, env=env, check=True)
        time.sleep(0.5)  # the worker now holds the task, unacknowledged
        for _ in range(2):
            server.kill()
            server.wait()
            server = start_redis(port, folder)
            time.sleep(0.5)
        time.sleep(5)  # time to die, if it is going to
        alive = worker.poll() is None
        return alive, b"'hostname'" in log_path.read_bytes()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        server.kill()


def main() -> None:
    import celery
    import kombu
    import redis

    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    print(f"celery {celery.__version__}, kombu {kombu.__version__}, redis-py {redis.__version__}")
    survived = 0
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "broker_loss_app.py").write_text(APP)
        for number in range(1, trials + 1):
            alive, hostname_error = trial(Path(folder))
            survived += alive
            print(f"trial {number}: worker {'alive' if alive else 'EXITED'}"
                  f"{' (kombu hostname AttributeError)' if hostname_error else ''}")
    print(f"{survived} of {trials} survived two quick Redis restarts while busy")


if __name__ == "__main__":
    main()
