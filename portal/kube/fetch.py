"""Small documents the console reads over plain HTTP(S) besides the API (the sample image index)."""
import json
import logging
import urllib.request

from django.conf import settings

from . import errors

log = logging.getLogger(__name__)


def json_document(url, timeout=2.0):
    """GET `url` and parse its body as JSON; errors.Unavailable when it cannot be read or is not JSON."""
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": settings.DVP_USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError) as exc:
        log.info("%s unavailable: %s", url, exc)
        raise errors.Unavailable(f"{url} could not be read: {exc}") from exc
