"""In-memory object store with a global resourceVersion and a bounded event history.

Objects are stored as plain dicts and never mutated in place once stored, so
event snapshots can be shared; everything handed out is a deep copy.
"""

import asyncio
import copy
from collections import deque

from .selectors import parse_field_selector, parse_label_selector


class Store:
    def __init__(self, history_size=20000):
        self._objects = {}  # kind name -> {(namespace, name): obj}
        self._kinds = {}  # kind name -> Kind
        self.resource_version = 0
        self._history = deque(maxlen=history_size)  # (rv, type, kind, obj, previous obj)
        self._history_floor = 0  # events after this rv are replayable
        self._subscribers = {}  # queue -> the kind names it receives events of (None: all)
        self.on_change = None  # callback() after every change (state persistence)
        self._dependents = {}  # owner uid -> {(kind name, namespace, name)}

    # reads ------------------------------------------------------------
    def get(self, kind, namespace, name):
        """A deep copy of the object, or None."""
        obj = self._objects.get(kind.kind, {}).get((namespace or "", name))
        return copy.deepcopy(obj) if obj is not None else None

    def peek(self, kind, namespace, name):
        """The stored object itself (do not mutate)."""
        return self._objects.get(kind.kind, {}).get((namespace or "", name))

    def list(self, kind, namespace=None, label_selector=None, field_selector=None):
        """Deep copies of the matching objects, ordered by namespace then name."""
        return [copy.deepcopy(o) for o in self.iter(kind, namespace, label_selector, field_selector)]

    def iter(self, kind, namespace=None, label_selector=None, field_selector=None):
        """The stored matching objects (do not mutate), ordered by namespace then name."""
        labels_ok = parse_label_selector(label_selector)
        fields_ok = parse_field_selector(field_selector)
        bucket = self._objects.get(kind.kind, {})
        for key in sorted(bucket):
            if namespace and key[0] != namespace:
                continue
            obj = bucket[key]
            if labels_ok(obj["metadata"].get("labels")) and fields_ok(obj):
                yield obj

    def kinds(self):
        return [self._kinds[k] for k in self._objects if self._objects[k]]

    def count(self, kind, namespace=None):
        bucket = self._objects.get(kind.kind, {})
        if namespace is None:
            return len(bucket)
        return sum(1 for key in bucket if key[0] == namespace)

    # writes -----------------------------------------------------------
    def next_resource_version(self):
        self.resource_version += 1
        return str(self.resource_version)

    def put(self, kind, obj, event_type):
        """Store `obj` (taking ownership), stamping a new resourceVersion; emits the event."""
        rv = self.next_resource_version()
        obj["metadata"]["resourceVersion"] = rv
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self._kinds[kind.kind] = kind
        old = self._objects.setdefault(kind.kind, {}).get(key)
        if old is not None:
            self._index_owners(kind, old, add=False)
        self._objects[kind.kind][key] = obj
        self._index_owners(kind, obj, add=True)
        self._emit(int(rv), event_type, kind, obj, old)
        return copy.deepcopy(obj)

    def remove(self, kind, namespace, name):
        """Remove the object; the DELETED event carries a fresh resourceVersion."""
        obj = self._objects.get(kind.kind, {}).pop((namespace or "", name), None)
        if obj is None:
            return None
        self._index_owners(kind, obj, add=False)
        obj = copy.deepcopy(obj)
        rv = self.next_resource_version()
        obj["metadata"]["resourceVersion"] = rv
        self._emit(int(rv), "DELETED", kind, obj)
        return copy.deepcopy(obj)

    def load(self, kind, obj):
        """Insert without an event (state restore)."""
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self._kinds[kind.kind] = kind
        self._objects.setdefault(kind.kind, {})[key] = obj
        self._index_owners(kind, obj, add=True)
        rv = int(obj["metadata"].get("resourceVersion") or 0)
        self.resource_version = max(self.resource_version, rv)
        self._history_floor = self.resource_version

    def _index_owners(self, kind, obj, add):
        meta = obj["metadata"]
        entry = (kind.kind, meta.get("namespace", ""), meta["name"])
        for ref in meta.get("ownerReferences") or []:
            uid = ref.get("uid")
            if add:
                self._dependents.setdefault(uid, set()).add(entry)
            elif uid in self._dependents:
                self._dependents[uid].discard(entry)
                if not self._dependents[uid]:
                    del self._dependents[uid]

    def dependents(self, uid):
        """(kind name, namespace, name) of the objects listing `uid` among their ownerReferences."""
        return sorted(self._dependents.get(uid, ()))

    # events -------------------------------------------------------------
    def _emit(self, rv, event_type, kind, obj, old=None):
        if len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0][0]
        event = (rv, event_type, kind, obj, old)
        self._history.append(event)
        for q, kind_names in list(self._subscribers.items()):
            if kind_names is None or kind.kind in kind_names:
                q.put_nowait(event)
        if self.on_change:
            self.on_change()

    def history_since(self, rv):
        """Events with resourceVersion > rv, or None when rv is older than the buffer."""
        if rv < self._history_floor:
            return None
        return [e for e in self._history if e[0] > rv]

    def subscribe(self, kind_names=None):
        """An asyncio.Queue receiving (rv, type, kind, obj, previous obj or None) for every later change
        (of the kinds named in `kind_names` only, if given)."""
        q = asyncio.Queue()
        self._subscribers[q] = None if kind_names is None else frozenset(kind_names)
        return q

    def unsubscribe(self, q):
        self._subscribers.pop(q, None)
