"""The OpenAPI v3 description kubectl reads: every kind supports server-side field validation (so
`kubectl apply` leaves unknown fields to the server), and the DVP kinds carry the schemas of
dvpsim.schemas, so `kubectl explain vm.spec.cpu` lists fields and types. The schemas are our own,
without the CRDs' descriptions."""

import hashlib

from . import discovery, kinds, schemas


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
    components = {}
    for k in kinds.served_in(group, version, modules):
        spec = schemas.SPECS.get((k.kind, version))
        if spec is not None:
            components[_component_name(group, version, k.kind)] = _kind_schema(group, version, k.kind, spec)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": discovery.VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": components}}


def _component_name(group, version, kind):
    """kube-apiserver's name of a custom resource's schema: the group reversed, then version and kind."""
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def _kind_schema(group, version, kind, spec):
    properties = {
        "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this "
                                                        "representation of an object."},
        "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this "
                                                  "object represents."},
        "metadata": {"type": "object", "description": "Standard object's metadata."},
        "spec": _openapi(spec),
        "status": {"type": "object"},
    }
    return {"type": "object", "properties": properties,
            **({"required": ["spec"]} if kind in schemas.REQUIRES_SPEC else {}),
            "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": kind}]}


def _openapi(schema):
    """A dvpsim.schemas.Schema as an OpenAPI v3 schema."""
    if schema.type == "int-or-string":
        out = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
    else:
        out = {"type": schema.type}
    if schema.properties:
        out["properties"] = {name: _openapi(prop) for name, prop in schema.properties.items()}
    if schema.values is not None:
        out["additionalProperties"] = _openapi(schema.values)
    if schema.items is not None:
        out["items"] = _openapi(schema.items)
    for key, value in (("required", list(schema.required)), ("enum", list(schema.enum)), ("pattern", schema.pattern),
                       ("minLength", schema.min_length), ("maxLength", schema.max_length),
                       ("minimum", schema.minimum), ("maximum", schema.maximum), ("minItems", schema.min_items),
                       ("maxItems", schema.max_items), ("default", schema.default)):
        if value not in (None, "", []):
            out[key] = value
    return out
