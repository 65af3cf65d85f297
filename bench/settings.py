"""Settings of the web benchmark: production's, plus no-op views to measure the floor against.

Only bench/web.py uses it, on a scratch database on 127.0.0.1.
"""
from iop_clinic.settings.production import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
