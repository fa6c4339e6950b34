"""The Kubernetes-compatible HTTP API: routing, authentication, RBAC and the REST verbs."""

import asyncio
import base64
import json
import logging
from dataclasses import dataclass

from aiohttp import web

from . import conversion, dataexport, discovery, kinds, oidc, openapi, reviews, tables, upload
from .auth import authenticate
from .errors import ApiError, BadRequest, Forbidden, Gone, InternalError, Invalid, MethodNotAllowed, NotFound
from . import managed_fields, schemas
from .patch import APPLY, STRATEGIC, apply_patch, supports_strategic
from .rbac import forbidden_message
from .selectors import parse_field_selector, parse_label_selector

log = logging.getLogger("dvpsim.server")

WATCH_DEFAULT_TIMEOUT = 1800
BOOKMARK_INTERVAL = 5.0


@dataclass
class Target:
    kind: object
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


def json_response(body, status=200):
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")


def error_response(err):
    return json_response(err.status(), status=err.code)


def wants_table(request):
    for part in request.headers.get("Accept", "").split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in part.split(";")[1:] if "=" in p}
        if params.get("as") == "Table" and params.get("g", "meta.k8s.io") == "meta.k8s.io":
            return True
    return False


def _flag(value):
    return str(value).lower() in ("1", "true", "yes")


def parse_target(path, modules=None):
    """Resolve a resource URL to a Target, or None if it is not a resource URL; kinds of disabled modules
    (`modules`: the enabled ones, None = all) are not found."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        k = kinds.find(group, rest[2])
        if k is not None and k.namespaced:
            namespace, rest = rest[1], rest[2:]
    plural, name, sub = rest[0], rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        raise NotFound("the server could not find the requested resource")
    kind = kinds.find(group, plural)
    if kind is None or version not in kind.versions or not kinds.is_served(kind, modules):
        raise NotFound("the server could not find the requested resource")
    if kind.namespaced and namespace is None and name is not None:
        raise NotFound("the server could not find the requested resource")
    if sub is not None and sub not in kind.subresources:
        raise NotFound("the server could not find the requested resource")
    return Target(kind, version, namespace, name, sub)


def _stored_fields(target, selector):
    """A field selector of a view (events.k8s.io) in the field names of the stored kind."""
    if not selector or target.kind.view_of != "Event":
        return selector
    import re
    names = {"regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
             "reportingController": "reportingComponent", "deprecatedCount": "count"}
    return re.sub(r"(^|,)([A-Za-z]+)(?=[.=!])", lambda m: m.group(1) + names.get(m.group(2), m.group(2)), selector)


def _verb(request, target):
    method = request.method
    if method == "GET":
        if target.name:
            return "get"
        return "watch" if _flag(request.query.get("watch", "")) else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if target.name else "deletecollection"}.get(method, "")


class Api:
    def __init__(self, cluster):
        self.cluster = cluster
        self._json_cache = {}  # (kind, namespace, name) -> (resourceVersion, JSON bytes); see _encoded

    # entry ---------------------------------------------------------------------
    async def handle(self, request):
        try:
            return await self._dispatch(request)
        except ApiError as e:
            return error_response(e)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except web.HTTPException:
            raise
        except Exception as e:  # a bug: answer like kube-apiserver would, and log it
            log.exception("internal error on %s %s", request.method, request.path)
            return error_response(InternalError(f"Internal error occurred: {e}"))

    async def _dispatch(self, request):
        path = request.path.rstrip("/") or "/"
        if path in ("/version", "/healthz", "/livez", "/readyz"):
            return json_response(discovery.VERSION) if path == "/version" else web.Response(text="ok")
        user = authenticate(self.cluster, request)
        request["user"] = user
        modules = discovery.enabled_modules(self.cluster)
        if path == "/openapi/v3":
            return json_response(openapi.root(modules))
        if path.startswith("/openapi/v3/"):
            p = path[len("/openapi/v3/"):].split("/")
            doc = None
            if p[0] == "api" and p[1:] == ["v1"]:
                doc = openapi.group_version("", "v1")
            elif p[0] == "apis" and len(p) == 3:
                doc = openapi.group_version(p[1], p[2], modules)
            if doc is None:
                raise NotFound("the server could not find the requested resource")
            return json_response(doc)
        if path.startswith("/openapi"):
            raise NotFound("the server could not find the requested resource")
        if path == "/api":
            return json_response(discovery.api_versions(request.host))
        if path == "/api/v1":
            return json_response(discovery.resource_list("", "v1"))
        if path == "/apis":
            return json_response(discovery.group_list(modules))
        parts = path.split("/")[1:]
        if parts[0] == "apis" and len(parts) == 2:
            group = discovery.api_group(parts[1], modules)
            if group is None:
                raise NotFound("the server could not find the requested resource")
            return json_response(group)
        if parts[0] == "apis" and len(parts) == 3:
            if not discovery.has_version(parts[1], parts[2], modules):
                raise NotFound("the server could not find the requested resource")
            return json_response(discovery.resource_list(parts[1], parts[2], modules))
        if parts[0] == "apis" and len(parts) > 3 and parts[1] == kinds.SUBRESOURCES_GROUP:
            if discovery.VIRTUALIZATION not in modules:
                raise NotFound("the server could not find the requested resource")
            from .consoles import handle_subresource
            return await handle_subresource(self.cluster, request, user, parts[2:])
        target = parse_target(path, modules)
        if target is None:
            raise NotFound("the server could not find the requested resource")
        request["warnings"] = [text for version, text in target.kind.deprecated if version == target.version]
        verb = _verb(request, target)
        if verb not in target.kind.verbs and not (target.subresource and verb in ("get", "update", "patch")):
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        self.authorize(user, verb, target)
        request["drop_after"] = await self.cluster.faults.apply(verb, target.kind.plural, target.namespace)
        handler = {
            "get": self.get, "list": self.list, "watch": self.watch, "create": self.create,
            "update": self.update, "patch": self.patch, "delete": self.delete,
            "deletecollection": self.delete_collection,
        }[verb]
        return await handler(request, target, user)

    def authorize(self, user, verb, target):
        k = target.kind
        allowed, _ = self.cluster.rbac.authorize(
            user, verb=verb, group=k.group, resource=k.plural, subresource=target.subresource,
            namespace=target.namespace, name=target.name)
        if not allowed:
            raise Forbidden(forbidden_message(user, verb, k.group, k.plural, target.subresource,
                                              target.namespace, target.name),
                            details={**({"name": target.name} if target.name else {}),
                                     **({"group": k.group} if k.group else {}), "kind": k.plural})

    # helpers ----------------------------------------------------------------------
    async def _body(self, request):
        raw = await request.read()
        if not raw:
            raise BadRequest("the request body is empty")
        ctype = request.content_type
        try:
            if "yaml" in ctype:
                import yaml
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, Exception) as e:
            raise BadRequest(f"the request body is not valid: {e}")

    def _out(self, target, obj):
        return conversion.to_version(target.kind, obj, target.version)

    def _render(self, request, target, obj, status=200):
        obj = self._out(target, obj)
        if wants_table(request) and target.kind.columns is not None and obj.get("metadata", {}).get("name"):
            t = tables.table(target.kind, [obj], self.cluster.clock.now(), obj["metadata"].get("resourceVersion", ""),
                             request.query.get("includeObject", "Metadata"))
            return json_response(t, status)
        return json_response(obj, status)

    def _incoming(self, target, body):
        if not isinstance(body, dict):
            raise BadRequest("the body of the request must be a JSON object")
        av, kd = body.get("apiVersion"), body.get("kind")
        if kd and kd != target.kind.kind:
            raise BadRequest(f"the API version in the data ({av}) does not match the expected API version "
                             f"({target.kind.api_version_of(target.version)})" if av else
                             f"kind {kd} does not match {target.kind.kind}")
        if av and av != target.kind.api_version_of(target.version):
            raise BadRequest(f"the API version in the data ({av}) does not match the expected API version "
                             f"({target.kind.api_version_of(target.version)})")
        return conversion.normalize_times(target.kind.stored_kind.kind,
                                          conversion.from_version(target.kind, body, target.version))

    def _check_namespace(self, target, obj):
        meta = obj.setdefault("metadata", {})
        if target.kind.namespaced:
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
            if target.namespace:
                meta["namespace"] = target.namespace

    def _get_stored(self, target):
        obj = self.cluster.store.get(target.kind, target.namespace, target.name)
        if obj is None:
            raise NotFound.of(target.kind, target.name)
        return obj

    def _dry_run(self, request):
        return bool(request.query.getall("dryRun", []))

    # verbs ----------------------------------------------------------------------------
    async def get(self, request, target, user):
        return self._render(request, target, self._get_stored(target))

    async def list(self, request, target, user):
        q = request.query
        store = self.cluster.store
        rv = store.resource_version
        objs = store.iter(target.kind, target.namespace, q.get("labelSelector"),
                          _stored_fields(target, q.get("fieldSelector")))
        limit = int(q.get("limit") or 0)
        start = None
        if q.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                start, rv = tuple(token["start"]), token["rv"]
            except (ValueError, KeyError, TypeError):
                raise BadRequest("continue key is not valid")
        items, more = [], None
        for o in objs:
            key = (o["metadata"].get("namespace", ""), o["metadata"]["name"])
            if start is not None and key <= start:
                continue
            if limit and len(items) >= limit:
                more = (items[-1]["metadata"].get("namespace", ""), items[-1]["metadata"]["name"])
                break
            items.append(o)
        cont = None
        if more is not None:
            cont = base64.urlsafe_b64encode(json.dumps({"start": list(more), "rv": rv}).encode()).decode()
        if wants_table(request):
            items = [self._out(target, o) for o in items]
            return json_response(tables.table(target.kind, items, self.cluster.clock.now(), rv,
                                              q.get("includeObject", "Metadata"), cont))
        meta = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
        head = json.dumps({"kind": f"{target.kind.kind}List", "apiVersion": target.kind.api_version_of(target.version),
                           "metadata": meta})
        body = head[:-1].encode() + b', "items": [' + b", ".join(self._encoded(target, o) for o in items) + b"]}"
        return web.Response(body=body, content_type="application/json")

    def _encoded(self, target, obj):
        """The JSON of a stored object as served. Stored objects never change in place, so the encoding
        is kept per resourceVersion: a LIST of 10,000 VMs (with their managedFields) joins bytes."""
        if target.kind.view_of or target.version != target.kind.storage_version:
            return json.dumps(self._out(target, obj)).encode()
        meta = obj["metadata"]
        key = (target.kind.kind, meta.get("namespace", ""), meta["name"])
        hit = self._json_cache.get(key)
        if hit is not None and hit[0] == meta.get("resourceVersion"):
            return hit[1]
        if len(self._json_cache) > 200_000:
            self._json_cache.clear()
        data = json.dumps(obj).encode()
        self._json_cache[key] = (meta.get("resourceVersion"), data)
        return data

    async def create(self, request, target, user):
        if target.subresource == "token":
            return self._token_request(target)
        if target.subresource == "eviction":
            from dvpsim.controllers import launchers
            launchers.evict(self.cluster, target.namespace, target.name)  # virt-launcher Pods answer 429
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "code": 201}, 201)
        if target.subresource:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        raw_body = await self._body(request)
        self._check_fields(request, target, raw_body)
        body = self._incoming(target, raw_body)
        if not target.kind.stored:
            return json_response(reviews.answer(self.cluster, target.kind, body, user), 201)
        if target.kind.view_of == "Event":
            causes = conversion.validate_event_create(raw_body)
            if causes:
                name = (raw_body.get("metadata") or {}).get("name", "")
                summary = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
                raise Invalid(f'Event.events.k8s.io "{name}" is invalid: '
                              + (f"[{summary}]" if len(causes) > 1 else summary),
                              causes=causes, details={"name": name, "group": "events.k8s.io", "kind": "Event"})
        self._check_namespace(target, body)
        if target.kind.has_status and target.kind.kind not in ("Namespace", "Node"):
            # like kube-apiserver: status is set through the status subresource (Nodes may post it on create)
            body.pop("status", None)
        obj = self.cluster.create(target.kind, body, username=user.name, dry_run=self._dry_run(request),
                                  **self._manager(request, target))
        return self._render(request, target, obj, 201)

    def _token_request(self, target):
        """TokenRequest: mint a bearer token for a service account (how tests and tools get identities)."""
        self._get_stored(target)
        ns, name = target.namespace, target.name
        token = self.cluster.add_user(f"system:serviceaccount:{ns}:{name}",
                                      ("system:serviceaccounts", f"system:serviceaccounts:{ns}"))
        return json_response({
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": self.cluster.clock.timestamp()},
            "spec": {"audiences": [], "expirationSeconds": 3600, "boundObjectRef": None},
            "status": {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"},
        }, 201)

    async def update(self, request, target, user):
        raw_body = await self._body(request)
        self._check_fields(request, target, raw_body)
        body = self._incoming(target, raw_body)
        self._check_namespace(target, body)
        if (body.get("metadata") or {}).get("name") not in (None, target.name):
            raise BadRequest("the name of the object does not match the name on the URL")
        body["metadata"]["name"] = target.name
        dry = self._dry_run(request)
        if target.subresource == "status":
            obj = self.cluster.update_status(target.kind, body, username=user.name, dry_run=dry,
                                             **self._manager(request, target))
        else:
            obj = self.cluster.update(target.kind, body, username=user.name, dry_run=dry,
                                      **self._manager(request, target))
        return self._render(request, target, obj)

    def _check_fields(self, request, target, body):
        """The fieldValidation of a write (kube-apiserver's default is Warn; kubectl sends Strict): fields the
        schema does not know fail a Strict request, come back as Warning headers under Warn, and are pruned."""
        directive = request.query.get("fieldValidation") or "Warn"
        if directive not in ("Ignore", "Warn", "Strict"):
            raise BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", not "{directive}"')
        if directive == "Ignore" or target.subresource:
            return
        unknown = schemas.unknown_fields(target.kind.kind, target.version, body)
        if not unknown:
            return
        if directive == "Strict":
            kind = target.kind.kind
            raise BadRequest(f'{kind} in version "{target.version}" cannot be handled as a {kind}: strict decoding '
                             "error: " + ", ".join(f'unknown field "{path}"' for path in unknown))
        request.setdefault("warnings", []).extend(f'unknown field "{path}"' for path in unknown)

    def _manager(self, request, target):
        """The field manager of an Update operation and the version it was written in."""
        return {"manager": managed_fields.manager_from(request.query, request.headers.get("User-Agent", "")),
                "api_version": target.kind.api_version_of(target.version)}

    async def patch(self, request, target, user):
        raw = await request.read()
        ctype = request.content_type
        try:
            if ctype == "application/apply-patch+yaml":
                import yaml
                body = yaml.safe_load(raw)
            else:
                body = json.loads(raw or b"null")
        except ValueError as e:
            raise BadRequest(f"the request body is not valid: {e}")
        managed_fields.validate_patch_options(request.query, ctype == APPLY)
        current = self.cluster.store.get(target.kind, target.namespace, target.name)
        dry = self._dry_run(request)
        if ctype == APPLY:
            return self._apply(request, target, user, body, current, dry)
        if current is None:
            raise NotFound.of(target.kind, target.name)
        if ctype == STRATEGIC and not supports_strategic(target.kind):
            from .errors import UnsupportedMediaType  # custom resources: what kube-apiserver answers
            raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                       "include: application/json-patch+json, application/merge-patch+json, "
                                       "application/apply-patch+yaml")
        served = self._out(target, current)
        patched = apply_patch(ctype, served, body, target.kind.kind)
        if patched is None:
            from .errors import UnsupportedMediaType
            raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                       "include: application/json-patch+json, application/merge-patch+json, "
                                       "application/apply-patch+yaml")
        if not isinstance(patched, dict):
            raise BadRequest("the patch did not produce an object")
        self._check_fields(request, target, patched)
        patched = conversion.normalize_times(target.kind.stored_kind.kind,
                                             conversion.from_version(target.kind, patched, target.version))
        meta = patched.setdefault("metadata", {})
        meta["name"] = target.name
        if target.kind.namespaced:
            meta["namespace"] = target.namespace
        if target.subresource == "status":
            obj = self.cluster.update_status(target.kind, patched, username=user.name, dry_run=dry,
                                             **self._manager(request, target))
        else:
            obj = self.cluster.update(target.kind, patched, username=user.name, dry_run=dry,
                                      **self._manager(request, target))
        return self._render(request, target, obj)

    def _apply(self, request, target, user, body, current, dry):
        """Server-side apply (application/apply-patch+yaml): see dvpsim.managed_fields."""
        manager = request.query.get("fieldManager", "")
        managed_fields.require_manager(manager)
        self._check_fields(request, target, body)
        if target.subresource and target.subresource != "status":
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        config = self._incoming(target, body)
        config = self._out(target, config)  # the configuration as the client sees the kind
        meta = config.setdefault("metadata", {})
        if meta.get("name") not in (None, target.name):
            raise BadRequest("the name of the object does not match the name on the URL")
        if target.kind.namespaced and meta.get("namespace") not in (None, target.namespace):
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                             "request")
        if current is None and target.subresource:
            raise NotFound.of(target.kind, target.name)
        live = self._out(target, current) if current is not None else None
        merged, entries = managed_fields.apply(
            target.kind, live, config, manager, target.kind.api_version_of(target.version),
            self.cluster.clock.timestamp(), force=_flag(request.query.get("force", "")),
            subresource=target.subresource)
        merged = conversion.from_version(target.kind, merged, target.version)
        mmeta = merged.setdefault("metadata", {})
        mmeta["name"] = target.name
        if target.kind.namespaced:
            mmeta["namespace"] = target.namespace
        if current is None:
            merged["apiVersion"], merged["kind"] = target.kind.api_version, target.kind.kind
            created = self.cluster.create(target.kind, merged, username=user.name, dry_run=dry, managed=entries)
            return self._render(request, target, created, 201)
        if target.subresource == "status":
            obj = self.cluster.update_status(target.kind, merged, username=user.name, dry_run=dry, managed=entries)
        else:
            obj = self.cluster.update(target.kind, merged, username=user.name, dry_run=dry, managed=entries)
        return self._render(request, target, obj)

    async def _delete_options(self, request):
        raw = await request.read()
        if not raw:
            return {}
        try:
            opts = json.loads(raw)
        except ValueError:
            raise BadRequest("the body of the request is not a DeleteOptions object")
        return opts if isinstance(opts, dict) else {}

    async def delete(self, request, target, user):
        if target.subresource:
            raise MethodNotAllowed("the server does not allow this method on the requested resource")
        opts = await self._delete_options(request)
        dry = self._dry_run(request) or bool(opts.get("dryRun"))
        obj = self.cluster.delete(target.kind, target.namespace, target.name, username=user.name, dry_run=dry,
                                  preconditions=opts.get("preconditions"))
        return self._render(request, target, obj)

    async def delete_collection(self, request, target, user):
        q = request.query
        opts = await self._delete_options(request)
        dry = self._dry_run(request) or bool(opts.get("dryRun"))
        deleted = []
        for o in self.cluster.store.list(target.kind, target.namespace, q.get("labelSelector"),
                                         q.get("fieldSelector")):
            try:
                deleted.append(self._out(target, self.cluster.delete(
                    target.kind, o["metadata"].get("namespace"), o["metadata"]["name"],
                    username=user.name, dry_run=dry)))
            except NotFound:
                pass
        return json_response({"kind": f"{target.kind.kind}List",
                              "apiVersion": target.kind.api_version_of(target.version),
                              "metadata": {"resourceVersion": str(self.cluster.store.resource_version)},
                              "items": deleted})

    # watch ---------------------------------------------------------------------------
    async def watch(self, request, target, user):
        q = request.query
        store = self.cluster.store
        label_ok = parse_label_selector(q.get("labelSelector"))
        field_ok = parse_field_selector(_stored_fields(target, q.get("fieldSelector")))
        timeout = float(q.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
        bookmarks = _flag(q.get("allowWatchBookmarks", ""))
        table_mode = wants_table(request)
        include = q.get("includeObject", "Metadata")
        rv = q.get("resourceVersion", "")
        send_initial = _flag(q.get("sendInitialEvents", "")) or rv in ("", "0")

        def matches(kind, obj):
            if obj is None or kind is not target.kind.stored_kind:
                return False
            if target.namespace and obj["metadata"].get("namespace") != target.namespace:
                return False
            return label_ok(obj["metadata"].get("labels")) and field_ok(obj)

        def translate(event_type, kind, obj, old):
            """The event a selector-filtered watcher sees: objects entering or leaving the
            selection show up as ADDED / DELETED, like kube-apiserver's watch cache."""
            now, before = matches(kind, obj), event_type == "MODIFIED" and matches(kind, old)
            if event_type != "MODIFIED":
                return event_type if now else None
            if now and before:
                return "MODIFIED"
            if now:
                return "ADDED"
            return "DELETED" if before else None

        def encode(event_type, obj):
            if not table_mode:
                return b'{"type": "' + event_type.encode() + b'", "object": ' + self._encoded(target, obj) + b"}\n"
            obj = self._out(target, obj)
            if table_mode:
                obj = tables.table(target.kind, [obj], self.cluster.clock.now(),
                                   obj["metadata"].get("resourceVersion", ""), include)
            return (json.dumps({"type": event_type, "object": obj}) + "\n").encode()

        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        # Subscribing and taking the snapshot happen with no await in between, so no event is lost or doubled.
        queue = store.subscribe()
        try:
            if send_initial:
                backlog = [("ADDED", o) for o in store.iter(target.kind, target.namespace)
                           if label_ok(o["metadata"].get("labels")) and field_ok(o)]
            else:
                try:
                    since = int(rv)
                except ValueError:
                    raise BadRequest(f"invalid resourceVersion {rv!r}")
                history = store.history_since(since)
                if history is None:
                    err = Gone(f"too old resource version: {since} ({store.resource_version})")
                    await resp.write((json.dumps({"type": "ERROR", "object": err.status()}) + "\n").encode())
                    return resp
                backlog = [(translate(t, k, o, old), o) for (_rv, t, k, o, old) in history]
                backlog = [(t, o) for t, o in backlog if t]
            current_rv = store.resource_version
            for event_type, obj in backlog:
                await resp.write(encode(event_type, obj))
            if bookmarks and _flag(q.get("sendInitialEvents", "")):
                await resp.write(self._bookmark(target, current_rv, initial_end=True))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            drop_at = loop.time() + request["drop_after"] if request.get("drop_after") else None
            # A bookmark every BOOKMARK_INTERVAL of this stream's silence, however busy the rest of the store is
            # (events of other objects reach the queue too, and must not hold the bookmarks back).
            next_bookmark = loop.time() + BOOKMARK_INTERVAL
            while True:
                if drop_at is not None and loop.time() >= drop_at:
                    request.transport.close()  # an injected fault: the stream breaks mid-way
                    break
                remaining = min(deadline, drop_at or deadline) - loop.time()
                if remaining <= 0:
                    break
                if bookmarks and loop.time() >= next_bookmark:
                    await resp.write(self._bookmark(target, store.resource_version))
                    next_bookmark = loop.time() + BOOKMARK_INTERVAL
                try:
                    _rv, event_type, kind, obj, old = await asyncio.wait_for(
                        queue.get(), min(remaining, next_bookmark - loop.time()) if bookmarks else remaining)
                except asyncio.TimeoutError:
                    continue
                seen_as = translate(event_type, kind, obj, old)
                if seen_as:
                    await resp.write(encode(seen_as, obj))
                    next_bookmark = loop.time() + BOOKMARK_INTERVAL
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            store.unsubscribe(queue)
        return resp

    def _bookmark(self, target, rv, initial_end=False):
        meta = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": target.kind.kind, "apiVersion": target.kind.api_version_of(target.version), "metadata": meta}
        return (json.dumps({"type": "BOOKMARK", "object": obj}) + "\n").encode()


def build_app(cluster):
    """The aiohttp application serving the cluster (sample image routes included, unauthenticated)."""
    app = web.Application(client_max_size=64 * 1024 ** 2)
    api = Api(cluster)
    try:
        from . import samples
        app.add_routes(samples.routes(cluster))
    except ModuleNotFoundError as e:
        if e.name != "dvpsim.samples":
            raise
    from . import control, registry_server
    app.add_routes(control.routes(cluster))
    app.add_routes(registry_server.routes(cluster))  # the OCI distribution API (/v2/) serving the samples as container disks
    app.add_routes(upload.routes(cluster))
    app.add_routes(dataexport.routes(cluster))  # the exporters of DataExports (`d8 download`)
    if getattr(cluster, "oidc", None) is None:
        cluster.oidc = oidc.Issuer()
    app.add_routes(oidc.routes(cluster, cluster.oidc))  # the cluster's Dex (user-authn)
    app.router.add_route("*", "/{tail:.*}", api.handle)
    app.on_response_prepare.append(_add_warnings)
    app["cluster"] = cluster
    return app


async def _add_warnings(request, response):
    """kube-apiserver's Warning headers (RFC 7234 style, code 299), e.g. for a deprecated version; kubectl prints them."""
    for text in request.get("warnings") or ():
        response.headers.add("Warning", '299 - "%s"' % text.replace("\\", "\\\\").replace('"', '\\"'))
