"""Sessions kept in the database and read through the shared cache (Redis): a signed-in page
reads its session without a query (SESSION_ENGINE, set when REDIS_URL is).

Django's `cached_db` engine, with three changes so the cache can never keep a session alive that
the database has ended, and an unreachable Redis costs speed, not sign-ins:

- The database stays the record: every write goes there first; the cache holds a copy for at
  most CACHED_SECONDS. So a copy that outlived its row (Redis unreachable at sign-out, or a
  request saving its session while another signs it out) answers for minutes at most, where
  Django's engine would keep it for the whole session age (12 hours).
- Reading never writes the cache: a copy is made when a request saves the session (the log-off
  clock does once a minute while someone works), never from a database row that a concurrent
  sign-out may be deleting.
- Redis errors are logged and the database answers instead (Django's engine fails a request
  whose session is read while Redis is down).

What is cached is the session's own data (who is signed in, the log-off clocks, the second
factor of this sign-in), nothing clinical; whether the user may still see a page is read from the
database on every request (staff/access.py), never from the session.
"""
import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore

logger = logging.getLogger(__name__)

# Longest a copy in the cache may answer for a session; a minute of activity renews it.
CACHED_SECONDS = 300


class SessionStore(CachedDBStore):
    def _cached_seconds(self) -> int:
        return max(0, min(CACHED_SECONDS, self.get_expiry_age()))

    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            logger.warning("sessions: the cache could not be read; reading the database",
                           exc_info=True)
            data = None
        return data if data is not None else DBStore.load(self)

    def save(self, must_create=False):
        DBStore.save(self, must_create)
        try:
            self._cache.set(self.cache_key, self._session, self._cached_seconds())
        except Exception:
            logger.warning("sessions: the cache could not be written", exc_info=True)
            self._cache_forget(self.session_key)

    def delete(self, session_key=None):
        DBStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key:
            self._cache_forget(session_key)

    def _cache_forget(self, session_key: str) -> None:
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:
            logger.error("sessions: a session ended in the database but its copy in the cache "
                         "could not be removed; it lapses within %s seconds", CACHED_SECONDS,
                         exc_info=True)

    def exists(self, session_key):
        # Whether a new key is free: the database holds every session.
        return DBStore.exists(self, session_key)
