"""Wrong passwords are counted per user name and per client address; past the limit, logins are refused
until the window (DVP_LOGIN_WINDOW_SECONDS) ends. Every failure and every refusal is logged."""
import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("portal.auth")

ADDRESS_FACTOR = 4  # an address (an office behind NAT) may fail for a few users before it is locked


def _keys(username, address):
    name = hashlib.sha256((username or "").lower().encode()).hexdigest()[:32]
    return (f"login-failures:user:{name}", settings.DVP_LOGIN_FAILURES), \
           (f"login-failures:addr:{address}", settings.DVP_LOGIN_FAILURES * ADDRESS_FACTOR)


def locked_for(username, address):
    """Seconds until a login of `username` from `address` is taken again (0: it is taken now)."""
    waits = []
    for key, limit in _keys(username, address):
        failures = cache.get(key)
        if failures and failures["count"] >= limit:
            waits.append(max(1, int(failures["since"] + settings.DVP_LOGIN_WINDOW_SECONDS - time.time())))
    if waits:
        log.warning("login of %r from %s refused: too many failed attempts", username, address)
    return max(waits, default=0)


def failed(username, address):
    log.warning("failed login of %r from %s", username, address)
    for key, _ in _keys(username, address):
        failures = cache.get(key) or {"count": 0, "since": time.time()}
        failures["count"] += 1
        remaining = failures["since"] + settings.DVP_LOGIN_WINDOW_SECONDS - time.time()
        cache.set(key, failures, max(1, int(remaining)))


def succeeded(username, address):
    cache.delete(_keys(username, address)[0][0])
