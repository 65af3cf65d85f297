"""Django's Redis cache backend, with one Redis client per connection pool instead of one per call.

Django's RedisCacheClient keeps its connection pools for the life of the process but wraps a new
`redis.Redis` around the pool on every get, set or delete. Building one fills in some 160
response callbacks, which cost a signed-in page (its session is read from this cache) more CPU
than the round trip to Redis itself. A `redis.Redis` holds no connection of its own: it takes one
from the pool for each command, so one client can serve every call of the process.
"""
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class OneClientPerPoolRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = OneClientPerPoolRedisCacheClient
