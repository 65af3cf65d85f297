"""The security tests' fixtures (authenticator codes, a verified login), shared with accounts."""
from tests.security.conftest import *  # noqa: F401,F403
from tests.security.conftest import current_code  # noqa: F401
