"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>[/<version>]."""

import hashlib

from . import kinds

VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "dvpsim", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64",
}


def _hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:11]


def enabled_modules(cluster):
    """Names of the Deckhouse modules whose ModuleConfig is enabled (optional kinds are served only with them)."""
    return {m["metadata"]["name"] for m in cluster.store.iter(kinds.get("ModuleConfig"))
            if (m.get("spec") or {}).get("enabled")}


def _resources(group, version, modules=None):
    out = []
    for k in kinds.served_in(group, version, modules):
        entry = {
            "name": k.plural, "singularName": k.singular_name, "namespaced": k.namespaced, "kind": k.kind,
            "verbs": list(k.verbs),
        }
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        if k.stored:
            entry["storageVersionHash"] = _hash(f"{group}/{version}/{k.plural}")
        out.append(entry)
        for sub in k.subresources:
            if sub == "eviction":  # kubectl drain looks for pods/eviction of kind Eviction with its group/version
                out.append({"name": f"{k.plural}/eviction", "singularName": "", "namespaced": True, "group": "policy",
                            "version": "v1", "kind": "Eviction", "verbs": ["create"]})
                continue
            out.append({"name": f"{k.plural}/{sub}", "singularName": "", "namespaced": k.namespaced,
                        "kind": "TokenRequest" if sub == "token" else k.kind,
                        "verbs": ["create"] if sub == "token" else ["get", "patch", "update"]})
    if group == kinds.SUBRESOURCES_GROUP and version == kinds.SUBRESOURCES_VERSION:
        out = [dict(r) for r in kinds.SUBRESOURCE_RESOURCES]
    return out


def resource_list(group, version, modules=None):
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": _resources(group, version, modules)}


def all_groups(modules=None):
    groups = kinds.groups(modules)
    groups[kinds.SUBRESOURCES_GROUP] = [kinds.SUBRESOURCES_VERSION]
    return groups


def api_group(group, modules=None):
    versions = all_groups(modules).get(group)
    if not versions:
        return None
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": vs[0]}


def group_list(modules=None):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{k: v for k, v in api_group(g, modules).items() if k not in ("kind", "apiVersion")}
                       for g in all_groups(modules)]}


def api_versions(host):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def has_version(group, version, modules=None):
    return version in all_groups(modules).get(group, []) if group else version == "v1"
