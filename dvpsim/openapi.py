"""A minimal OpenAPI v3 description: just enough for kubectl to see that every kind
supports server-side field validation (so `kubectl apply` does not need full schemas)."""

import hashlib

from . import discovery, kinds


def _gv_path(group, version):
    return f"apis/{group}/{version}" if group else "api/v1"


def root(modules=None):
    paths = {}
    gvs = [("", "v1")] + [(g, v) for g, vs in kinds.groups(modules).items() for v in vs]
    for group, version in gvs:
        p = _gv_path(group, version)
        digest = hashlib.sha256(p.encode()).hexdigest()[:16].upper()
        paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={digest}"}
    return {"paths": paths}


def group_version(group, version, modules=None):
    """The document for one group/version, or None."""
    if not discovery.has_version(group, version, modules):
        return None
    paths = {}
    for k in kinds.served_in(group, version, modules):
        if not k.stored:
            continue
        base = f"/{_gv_path(group, version)}"
        if k.namespaced:
            base += "/namespaces/{namespace}"
        gvk = {"group": group, "version": version, "kind": k.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                  {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string"}}]
        paths[f"{base}/{k.plural}/{{name}}"] = {
            "patch": {"operationId": f"patch{k.kind}", "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "parameters": params,
                      "responses": {"200": {"description": "OK"}}},
        }
        paths[f"{base}/{k.plural}"] = {
            "post": {"operationId": f"create{k.kind}", "x-kubernetes-action": "post",
                     "x-kubernetes-group-version-kind": gvk, "parameters": params,
                     "responses": {"201": {"description": "Created"}}},
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": discovery.VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}
