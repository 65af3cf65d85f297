"""Settings of the web benchmark: production's, plus no-op views to measure the floor against.

Only bench/web.py uses it, on a scratch database on 127.0.0.1. With BENCH_NOW (bench/clinic.py's
`pin_clock`) the process's clock starts at the bench clinic's moment and ticks on from there.
"""
import datetime as _dt
import os as _os

from iop_clinic.settings.production import *  # noqa: F401,F403

if _os.environ.get("BENCH_NOW"):
    import time_machine as _time_machine

    _time_machine.travel(_dt.datetime.fromisoformat(_os.environ["BENCH_NOW"]), tick=True).start()

ROOT_URLCONF = "bench.urls"
