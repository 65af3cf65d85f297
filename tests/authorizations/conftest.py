"""Fixtures for the authorization pages: staff personas signed in, the clock on TODAY."""
import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import Client

from tests.auth import sign_in

from .world import TODAY, build_world

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def frozen_today():
    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(12, 0), tzinfo=NEW_YORK),
                             tick=False):
        yield


@pytest.fixture
def w(site, frozen_today):
    return build_world(site=site)


@pytest.fixture
def as_director(director):
    return sign_in(Client(), director)


@pytest.fixture
def as_clinician(clinician):
    return sign_in(Client(), clinician)


@pytest.fixture
def as_front_desk(front_desk):
    return sign_in(Client(), front_desk)


@pytest.fixture
def as_outsider(outsider_clinician):
    return sign_in(Client(), outsider_clinician)
