"""The simulated cluster: store, clock, RBAC, tokens, console sessions and controllers.

This is the internal API that admission rules, controllers, the guest console and
the demo data program against. Every write goes through `create` / `update` /
`update_status` / `delete` so that defaults, admission, resourceVersions and watch
events behave exactly as they do for requests arriving over HTTP.
"""

import asyncio
import copy
import importlib
import logging
import secrets
import sys
import uuid

from . import kinds
from .auth import User
from .clock import Clock
from .errors import AlreadyExists, BadRequest, Conflict, Forbidden, Invalid, NotFound
from .rbac import Authorizer
from .store import Store
from .faults import Faults
from . import managed_fields, schemas

log = logging.getLogger("dvpsim")

ADMIN = "admin"
CONSOLE_SA = "system:serviceaccount:d8-console:dvp-console"
CONTROLLER_USER = "system:serviceaccount:d8-virtualization:virtualization-controller"


class Cluster:
    def __init__(self, speed=1.0, history_size=20000):
        self.store = Store(history_size)
        self.clock = Clock(speed)
        self.rbac = Authorizer(self.store)
        self.url = None  # "http://127.0.0.1:PORT" once serving
        self.tls_url = None  # the same API over HTTPS (what the kubeconfig points at)
        self.tokens = {}  # token -> User
        self.users = {}  # name -> token (one kubeconfig context each)
        self.console_sessions = {}  # (namespace, vm name, "console"|"vnc") -> open WebSocketResponse
        self._tasks = []
        self.faults = Faults()
        self._admission = None
        self._event_index = {}  # (uid, reason, message) -> event name, for count aggregation
        # DVP's edition-locked feature gates that are on (pkg/featuregates): dvpsim is the Community Edition, so
        # none by default; "USB" (EE) turns on USB passthrough (dvpsim.controllers.usb).
        self.feature_gates = set()

    # identities ---------------------------------------------------------
    def add_user(self, name, groups=(), token=None):
        """Register a user; returns their bearer token. Each user becomes a kubeconfig context."""
        token = token or secrets.token_urlsafe(24)
        groups = tuple(groups)
        if "system:authenticated" not in groups:
            groups += ("system:authenticated",)
        self.tokens[token] = User(name, groups)
        self.users[name] = token
        return token

    def authenticate(self, token):
        """The User for a bearer token, or None."""
        return self.tokens.get(token)

    def can(self, user, verb, group, resource, namespace=None, name=None, subresource=None):
        """RBAC decision for `user` (a User): (allowed, reason)."""
        return self.rbac.authorize(user, verb=verb, group=group, resource=resource,
                                   subresource=subresource, namespace=namespace, name=name)

    # writes ---------------------------------------------------------------
    def create(self, kind, obj, *, username=None, dry_run=False, manager=None, managed=None, api_version=None):
        """Create an object: name/generateName, defaults, admission, uid, resourceVersion,
        creationTimestamp, generation; emits ADDED. Status given here is kept (the HTTP
        layer strips it for kinds with a status subresource, as kube-apiserver does).
        managedFields: `managed` as given (server-side apply), else an Update entry of
        `manager` (default: the controller) in `api_version` (default: the storage version)."""
        kind = kind.stored_kind  # events.k8s.io Events are stored as core Events
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        obj["apiVersion"] = kind.api_version
        obj["kind"] = kind.kind
        if kind.namespaced:
            ns = meta.get("namespace")
            if not ns:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on "
                                 "the request" if ns == "" else "an empty namespace may not be set during creation")
            nsobj = self.store.peek(kinds.get("Namespace"), "", ns)
            if nsobj is None:
                raise NotFound.of(kinds.get("Namespace"), ns)
            if nsobj["metadata"].get("deletionTimestamp"):
                raise Forbidden(f"{kind.resource} \"{meta.get('name') or meta.get('generateName', '')}\" is "
                                f"forbidden: unable to create new content in namespace {ns} because it is "
                                f"being terminated", details={"name": meta.get("name", ""), "kind": kind.plural})
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise Invalid(kind=kind, causes=[{"field": "metadata.name", "reason": "FieldValueRequired",
                                                  "message": "Required value: name or generateName is required"}])
            for _ in range(20):
                candidate = meta["generateName"] + _suffix()
                if self.store.peek(kind, meta.get("namespace"), candidate) is None:
                    meta["name"] = candidate
                    break
        _validate_name(kind, meta["name"])
        for key in ("resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.clock.timestamp()
        if kind.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if kind.kind == "Namespace":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj = self._admit("CREATE", kind, obj, None, username)
        obj["metadata"].pop("managedFields", None)
        entries = managed if managed is not None else managed_fields.record_update(
            kind, None, obj, manager or _internal_manager(username), api_version or kind.api_version,
            self.clock.timestamp())
        if entries:
            obj["metadata"]["managedFields"] = entries
        if self.store.peek(kind, meta.get("namespace"), meta["name"]) is not None:
            raise AlreadyExists.of(kind, meta["name"])
        if dry_run:
            return obj
        return self.store.put(kind, obj, "ADDED")

    def update(self, kind, obj, *, username=None, dry_run=False, manager=None, managed=None, api_version=None):
        """Replace an object. Conflict (409) when obj carries a stale metadata.resourceVersion.
        For kinds with a status subresource the status is kept as stored. generation bumps
        only when the spec (everything but metadata and status) changes. managedFields: `managed`
        as given (server-side apply), else an Update by `manager` is recorded; without either
        (dvpsim's controllers) the stored managedFields are kept."""
        return self._update(kind, obj, username=username, dry_run=dry_run, status_only=False,
                            manager=manager, managed=managed, api_version=api_version)

    def update_status(self, kind, obj, *, username=None, dry_run=False, manager=None, managed=None,
                      api_version=None):
        """Replace only the status of an object (what controllers use)."""
        return self._update(kind, obj, username=username, dry_run=dry_run, status_only=True,
                            manager=manager, managed=managed, api_version=api_version)

    def _update(self, kind, obj, *, username, dry_run, status_only, manager=None, managed=None, api_version=None):
        kind = kind.stored_kind
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "") if kind.namespaced else ""
        name = meta.get("name")
        if not name:
            raise Invalid(kind=kind, causes=[{"field": "metadata.name", "reason": "FieldValueRequired",
                                              "message": "Required value: name is required"}])
        old = self.store.peek(kind, ns, name)
        if old is None:
            raise NotFound.of(kind, name)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise Conflict.of(kind, name)
        if status_only:
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = copy.deepcopy(obj["status"])
            else:
                new.pop("status", None)
        else:
            new = copy.deepcopy(obj)
            new["apiVersion"] = kind.api_version
            new["kind"] = kind.kind
            nmeta = new.setdefault("metadata", {})
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace"):
                if key in old["metadata"]:
                    nmeta[key] = old["metadata"][key]
                else:
                    nmeta.pop(key, None)
            if kind.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            if kind.tracks_generation and _spec_of(new, kind) != _spec_of(old, kind):
                nmeta["generation"] = int(old["metadata"].get("generation", 1)) + 1
            if old["metadata"].get("deletionTimestamp"):
                added = set(nmeta.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
                if added:
                    raise Forbidden(f"no new finalizers can be added if the object is being deleted, "
                                    f"found new finalizers {sorted(added)}")
            new = self._admit("UPDATE", kind, new, copy.deepcopy(old), username)
        self._track(kind, old, new, obj, manager, managed, api_version, status_only)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return copy.deepcopy(old)
        if dry_run:
            return new
        if old["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self.store.put(kind, new, "MODIFIED")
            return self._remove(kind, new)
        return self.store.put(kind, new, "MODIFIED")

    def _track(self, kind, old, new, request_obj, manager, managed, api_version, status_only):
        """Set new's managedFields (see `update`)."""
        nmeta = new["metadata"]
        if managed is not None:
            entries = managed
        elif manager:
            base = old
            if managed_fields.reset_requested(request_obj):
                base = copy.deepcopy(old)
                base["metadata"].pop("managedFields", None)
            entries = managed_fields.record_update(kind, base, new, manager, api_version or kind.api_version,
                                                   self.clock.timestamp(), "status" if status_only else None,
                                                   entries=managed_fields.requested(request_obj))
        else:
            entries = old["metadata"].get("managedFields")
        if managed is None and manager and managed_fields.reset_requested(request_obj):
            entries = []
        if entries:
            nmeta["managedFields"] = copy.deepcopy(entries)
        else:
            nmeta.pop("managedFields", None)

    def delete(self, kind, namespace, name, *, username=None, dry_run=False, preconditions=None):
        """Delete an object. With finalizers it only gets a deletionTimestamp (returned, still
        stored) until they are emptied; otherwise it is removed (the removed object is returned).
        Namespaces cascade to their contents; ownerReferences dependents are collected."""
        kind = kind.stored_kind
        ns = (namespace or "") if kind.namespaced else ""
        old = self.store.peek(kind, ns, name)
        if old is None:
            raise NotFound.of(kind, name)
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise Conflict.of(kind, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                          f"UID in object meta: {old['metadata']['uid']}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise Conflict.of(kind, name, f"Precondition failed: ResourceVersion in precondition: "
                                          f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                          f"{old['metadata']['resourceVersion']}")
        self._admit("DELETE", kind, copy.deepcopy(old), copy.deepcopy(old), username)
        if dry_run:
            return copy.deepcopy(old)
        if kind.kind == "Namespace":
            return self._delete_namespace(old)
        if old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionTimestamp"):
                return copy.deepcopy(old)
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = self.clock.timestamp()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.store.put(kind, new, "MODIFIED")
        return self._remove(kind, old)

    def _remove(self, kind, obj):
        meta = obj["metadata"]
        removed = self.store.remove(kind, meta.get("namespace", ""), meta["name"])
        self._collect_dependents(kind, removed)
        ns = meta.get("namespace")
        if ns:
            self._maybe_finish_namespace(ns)
        return removed

    def _delete_namespace(self, nsobj):
        ns_kind = kinds.get("Namespace")
        name = nsobj["metadata"]["name"]
        if not nsobj["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(nsobj)
            new["metadata"]["deletionTimestamp"] = self.clock.timestamp()
            new["status"] = {"phase": "Terminating"}
            self.store.put(ns_kind, new, "MODIFIED")
        for kind in kinds.KINDS:
            if not kind.namespaced:
                continue
            for obj in list(self.store.iter(kind, name)):
                if self.store.peek(kind, name, obj["metadata"]["name"]) is not None:
                    try:
                        self.delete(kind, name, obj["metadata"]["name"], username=CONTROLLER_USER)
                    except NotFound:
                        pass
        self._maybe_finish_namespace(name)
        return self.store.get(ns_kind, "", name) or copy.deepcopy(nsobj)

    def _maybe_finish_namespace(self, name):
        ns_kind = kinds.get("Namespace")
        nsobj = self.store.peek(ns_kind, "", name)
        if nsobj is None or not nsobj["metadata"].get("deletionTimestamp"):
            return
        if any(self.store.count(k, name) for k in kinds.KINDS if k.namespaced):
            return
        if nsobj["metadata"].get("finalizers"):
            return
        self.store.remove(ns_kind, "", name)

    def _collect_dependents(self, owner_kind, owner):
        uid = owner["metadata"]["uid"]
        for kind_name, ns, name in self.store.dependents(uid):
            kind = kinds.get(kind_name)
            obj = self.store.peek(kind, ns, name)
            if obj is None:
                continue
            others = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            try:
                if others and any(self._owner_exists(r, ns) for r in others):
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = others
                    self.store.put(kind, new, "MODIFIED")
                else:
                    self.delete(kind, ns, name, username=CONTROLLER_USER)
            except NotFound:
                pass

    def _owner_exists(self, ref, namespace):
        k = kinds.for_api_version(ref.get("apiVersion", ""), ref.get("kind", ""))
        if k is None:
            return False
        o = self.store.peek(k, namespace if k.namespaced else "", ref.get("name"))
        return o is not None and o["metadata"]["uid"] == ref.get("uid")

    def _admit(self, operation, kind, obj, old, username):
        # kube-apiserver prunes and defaults at decoding, runs the mutating webhooks, then
        # validates against the schema. dvpsim.admission plays the webhooks (mutating and
        # validating in one), so the schema's validation comes after all of it here.
        if operation in ("CREATE", "UPDATE"):
            schemas.prune_and_default(kind.kind, kind.storage_version, obj)
        if self._admission is None:
            try:
                self._admission = importlib.import_module("dvpsim.admission").admit
            except ModuleNotFoundError as e:
                if e.name != "dvpsim.admission":
                    raise
                self._admission = False
        if self._admission:
            result = self._admission(self, operation, kind, obj, old, username)
            obj = obj if result is None else result
        if operation in ("CREATE", "UPDATE"):
            causes = schemas.validate(kind.kind, kind.storage_version, obj)
            if causes:
                raise Invalid(causes=causes, kind=kind, name=(obj.get("metadata") or {}).get("name"))
        return obj

    # events -------------------------------------------------------------------
    def record_event(self, obj, type_, reason, message, component="virtualization-controller"):
        """Record a core v1 Event about `obj` in its namespace ("default" for cluster objects);
        repeats of the same reason and message bump count and lastTimestamp."""
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or "default"
        ev_kind = kinds.get("Event")
        now = self.clock.timestamp()
        key = (meta.get("uid"), reason, message)
        existing = self._event_index.get(key)
        if existing:
            ev = self.store.get(ev_kind, ns, existing)
            if ev is not None:
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now
                return self.update(ev_kind, ev, username=CONTROLLER_USER)
        ev = {
            "metadata": {"name": f"{meta.get('name', 'object')}.{secrets.token_hex(8)}", "namespace": ns},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
                "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": type_, "reason": reason, "message": message,
            "source": {"component": component},
            "reportingComponent": component, "reportingInstance": "dvpsim",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        if not meta.get("namespace"):
            ev["involvedObject"].pop("namespace")
        if self.store.peek(kinds.get("Namespace"), "", ns) is None:
            return None
        created = self.create(ev_kind, ev, username=CONTROLLER_USER)
        self._event_index[key] = created["metadata"]["name"]
        return created

    # in-process watch ------------------------------------------------------------
    def subscribe(self, kind_names=None):
        """Async iterator of (event_type, kind, obj) for every change from now on (of the kinds named in
        `kind_names` only, if given); obj is a private deep copy. Close it with `aclose()` or by leaving the loop."""
        return _Subscription(self.store, kind_names)

    # controllers ---------------------------------------------------------------------
    def start_controllers(self):
        """Start each controller of dvpsim.controllers.CONTROLLERS as a task (if the package exists)."""
        try:
            CONTROLLERS = getattr(importlib.import_module("dvpsim.controllers"), "CONTROLLERS", [])
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("dvpsim.controllers"):
                raise
            CONTROLLERS = []
        for c in CONTROLLERS:
            inst = c() if isinstance(c, type) else c
            task = asyncio.get_running_loop().create_task(self._run_controller(inst))
            self._tasks.append(task)

    async def _run_controller(self, controller):
        name = type(controller).__name__
        try:
            await controller.run(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("controller %s crashed", name)
            print(f"dvpsim: controller {name} crashed", file=sys.stderr, flush=True)

    async def stop(self):
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()


class _Subscription:
    def __init__(self, store, kind_names=None):
        self._store = store
        self._queue = store.subscribe(kind_names)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._queue is None:
            raise StopAsyncIteration
        _rv, event_type, kind, obj, _old = await self._queue.get()
        return event_type, kind, copy.deepcopy(obj)

    async def aclose(self):
        if self._queue is not None:
            self._store.unsubscribe(self._queue)
            self._queue = None

    def __del__(self):
        if self._queue is not None:
            self._store.unsubscribe(self._queue)


def _internal_manager(username):
    """The manager recorded for a create by dvpsim itself (its controllers, the demo data)."""
    if username and username.startswith("system:serviceaccount:"):
        return username.rsplit(":", 1)[1]
    return "virtualization-controller"


def _spec_of(obj, kind):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _suffix():
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def _validate_name(kind, name):
    import re
    if kind.kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
        ok = bool(name) and "/" not in name and name not in (".", "..")
    elif kind.kind == "Event" or "." in name and kind.kind not in ("Namespace",):
        ok = re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) is not None and len(name) <= 253
    else:
        ok = re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) is not None and len(name) <= (
            63 if kind.kind == "Namespace" else 253)
    if not ok:
        raise Invalid(kind=kind, name=name, causes=[{
            "field": "metadata.name", "reason": "FieldValueInvalid",
            "message": f"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case "
                       f"alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"}])
