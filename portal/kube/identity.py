"""Who a request to the API server is made as: a user with their groups, or the user's own ID token.

portal.auth builds an Identity from the logged-in user (identity_of); this module only says how one
goes on the wire, for the synchronous client and the asyncio streams alike.
"""
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    username: str
    groups: tuple = ()
    # The user's own OIDC ID token: when set it is the bearer token and nothing is impersonated.
    token: str | None = None

    def headers(self):
        """[(name, value)]: Impersonate-User plus one Impersonate-Group per group (repeated headers, as
        kube-apiserver reads them; a comma-joined value would be one group), or the bearer token."""
        if self.token:
            return [("Authorization", f"Bearer {self.token}")]
        return [("Impersonate-User", self.username)] + [("Impersonate-Group", group) for group in self.groups]

    @property
    def key(self):
        """The part of a cache key that tells identities apart (same user, other groups: other answers);
        a digest, so that any number of groups keeps the key short and free of odd characters."""
        return hashlib.sha256("\n".join((self.username, *self.groups)).encode()).hexdigest()[:32]
