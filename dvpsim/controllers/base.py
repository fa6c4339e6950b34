"""The reconcile loop shared by the controllers, and small helpers for status and conditions.

Each object gets at most one reconcile task at a time; an event arriving while it runs marks
the object dirty and the reconcile runs once more afterwards. Reconciles must be idempotent:
writing an unchanged status emits no event, so the loop settles.
"""

import asyncio
import copy
import logging
import time

from dvpsim import discovery, kinds
from dvpsim.errors import ApiError, NotFound

log = logging.getLogger("dvpsim.controllers")

CLEANUP_FINALIZER = "virtualization.deckhouse.io/cleanup"


class Controller:
    primary = ""          # kind name reconciled by this controller
    related = ()          # kind names whose events may concern primary objects

    @property
    def module(self):
        """The Deckhouse module whose Helm release runs this controller: the virtualization module's for its
        kinds. While that module is disabled the controller reconciles nothing (the objects keep their last
        status); enabling it again reconciles every object that changed meanwhile (dvpsim.discovery)."""
        return discovery.VIRTUALIZATION if self.kind.group == kinds.DVP else ""

    def _module_enabled(self):
        return not self.module or self.module in discovery.enabled_modules(self.cluster)

    async def run(self, cluster):
        self.cluster = cluster
        self.kind = kinds.get(self.primary)
        self._running = {}
        self._dirty = set()
        self._paused = set()
        # Only the kinds handled below: a deep copy of every other event (the console sessions' Lease renewals)
        # for every controller is wasted work.
        subscription = cluster.subscribe({self.primary, *self.related, *(("ModuleConfig",) if self.module else ())})
        try:
            for obj in cluster.store.list(self.kind):
                self.kick(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            async for event_type, kind, obj in subscription:
                if kind.kind == "ModuleConfig" and obj["metadata"]["name"] == self.module and self._paused \
                        and self._module_enabled():
                    paused, self._paused = self._paused, set()
                    for key in paused:
                        self.kick(*key)
                try:
                    if kind.kind == self.primary:
                        self.on_primary(event_type, obj)
                    if kind.kind in self.related:
                        self.on_related(event_type, kind, obj)
                except Exception:
                    log.exception("%s: handling %s %s", type(self).__name__, event_type, kind.kind)
        finally:
            for task in list(self._running.values()):
                task.cancel()
            await subscription.aclose()

    # ---- scheduling reconciles ------------------------------------------------------------

    def on_primary(self, event_type, obj):
        if event_type != "DELETED":
            self.kick(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def on_related(self, event_type, kind, obj):
        pass

    def kick(self, namespace, name):
        key = (namespace or "", name)
        if not self._module_enabled():
            self._paused.add(key)
            return
        if key in self._running:
            self._dirty.add(key)
            return
        self._running[key] = asyncio.get_running_loop().create_task(self._work(key))

    def kick_all(self, namespace=None):
        for obj in self.cluster.store.iter(self.kind, namespace):
            self.kick(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    async def _work(self, key):
        try:
            while True:
                self._dirty.discard(key)
                if not self._module_enabled():
                    self._paused.add(key)
                    break
                try:
                    await self.reconcile(*key)
                except NotFound:
                    pass
                except ApiError as exc:
                    log.info("%s %s: %s", type(self).__name__, key, exc.message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: reconciling %s", type(self).__name__, key)
                if key not in self._dirty:
                    break
        finally:
            self._running.pop(key, None)

    async def reconcile(self, namespace, name):
        raise NotImplementedError

    # ---- reading and writing ---------------------------------------------------------------

    def get(self, namespace, name, kind=None):
        kind = kind or self.kind
        return self.cluster.store.get(kind, namespace if kind.namespaced else None, name)

    def write_status(self, obj, status, kind=None):
        """Replace the status of the stored object; None if it is gone."""
        kind = kind or self.kind
        fresh = self.cluster.store.get(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if fresh is None or fresh["metadata"]["uid"] != obj["metadata"]["uid"]:
            return None
        fresh["status"] = status
        fresh["metadata"].pop("resourceVersion", None)
        return self.cluster.update_status(kind, fresh)

    def set_finalizer(self, obj, present: bool, kind=None):
        kind = kind or self.kind
        fresh = self.cluster.store.get(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if fresh is None:
            return None
        finalizers = fresh["metadata"].get("finalizers") or []
        if (CLEANUP_FINALIZER in finalizers) == present:
            return fresh
        if present:
            finalizers = finalizers + [CLEANUP_FINALIZER]
        else:
            finalizers = [f for f in finalizers if f != CLEANUP_FINALIZER]
        fresh["metadata"]["finalizers"] = finalizers
        fresh["metadata"].pop("resourceVersion", None)
        return self.cluster.update(kind, fresh)

    def pvc_lost(self, obj, status, noun):
        """The PVC holding the data of a provisioned disk or PVC-stored image is gone (dvp-api-notes §4.2, §4.3):
        phase PVCLost, the Ready condition and a Warning Event say so. False while the PVC is there."""
        pvc = (status.get("target") or {}).get("persistentVolumeClaimName")
        namespace = obj["metadata"].get("namespace")
        if not pvc or not namespace or self.cluster.store.get(kinds.get("PersistentVolumeClaim"), namespace, pvc):
            return False
        message = f'PersistentVolumeClaim "{pvc}" not found: the data of the {noun} is lost.'
        status["phase"] = "PVCLost"
        set_condition(self.cluster, status, "Ready", "False", "PVCLost", message, obj["metadata"].get("generation", 1))
        self.event(obj, "PVCLost", message, "Warning")
        return True

    def event(self, obj, reason, message, type_="Normal"):
        try:
            self.cluster.record_event(obj, type_, reason, message)
        except ApiError:
            pass

    async def sleep(self, seconds):
        await self.cluster.clock.sleep(seconds)

    def elapsed(self, since_monotonic):
        """Simulated seconds since a time.monotonic() reading."""
        return (time.monotonic() - since_monotonic) * getattr(self.cluster.clock, "speed", 1.0)


def status_of(obj) -> dict:
    return copy.deepcopy(obj.get("status") or {})


def condition(status: dict, type_: str):
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def set_condition(cluster, status: dict, type_: str, value: str, reason: str, message: str = "",
                  generation=None):
    """Set a metav1.Condition, keeping lastTransitionTime when the status does not change."""
    conditions = status.setdefault("conditions", [])
    current = condition(status, type_)
    new = {"type": type_, "status": value, "reason": reason, "message": message,
           "lastTransitionTime": cluster.clock.timestamp()}
    if generation is not None:
        new["observedGeneration"] = generation
    if current is not None:
        if current.get("status") == value:
            new["lastTransitionTime"] = current.get("lastTransitionTime", new["lastTransitionTime"])
        conditions[conditions.index(current)] = new
    else:
        conditions.append(new)


def remove_condition(status: dict, type_: str):
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_]


def is_deleting(obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))
