"""Saving and restoring the whole cluster (objects and user tokens) as one JSON file."""

import asyncio
import json
import os

from . import kinds

DEBOUNCE_SECONDS = 1.0


def save(cluster, path):
    objects = []
    for kind in kinds.KINDS:
        if kind.stored:
            objects.extend({"kind": kind.kind, "object": o} for o in cluster.store.iter(kind))
    users = {name: {"token": token, "groups": [g for g in cluster.tokens[token].groups if g != "system:authenticated"]}
             for name, token in cluster.users.items()}
    data = {"resourceVersion": cluster.store.resource_version, "users": users, "objects": objects}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def load(cluster, path):
    """Restore a saved state; returns False when there is none."""
    if not path or not os.path.exists(path):
        return False
    with open(path) as f:
        data = json.load(f)
    for entry in data.get("objects", []):
        cluster.store.load(kinds.get(entry["kind"]), entry["object"])
    cluster.store.resource_version = max(cluster.store.resource_version, int(data.get("resourceVersion", 0)))
    cluster.store._history_floor = cluster.store.resource_version
    for name, u in data.get("users", {}).items():
        cluster.add_user(name, tuple(u.get("groups", ())), token=u["token"])
    return True


class Saver:
    """Saves the state a moment after changes stop arriving (and on demand)."""

    def __init__(self, cluster, path):
        self.cluster = cluster
        self.path = path
        self._handle = None
        cluster.store.on_change = self.changed

    def changed(self):
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_later(DEBOUNCE_SECONDS, self.flush)

    def flush(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        save(self.cluster, self.path)
