"""The test processes' settings: the console's, with a throwaway secret key (the production settings
refuse to start without one). Set in the environment, so the servers the tests start inherit it."""
import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-" + secrets.token_urlsafe(48))

from portal.settings import *  # noqa: E402,F401,F403
