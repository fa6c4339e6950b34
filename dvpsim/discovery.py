"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>[/<version>]."""

import hashlib

from . import kinds

VERSION = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.0", "gitCommit": "dvpsim", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64",
}


def _hash(text):
    return hashlib.sha256(text.encode()).hexdigest()[:11]


VIRTUALIZATION = "virtualization"


def enabled_modules(cluster):
    """Names of the Deckhouse modules whose ModuleConfig is enabled (optional kinds are served only with them),
    and kinds.VIRTUALIZATION_CRDS while the virtualization module's CRDs are in the cluster.

    Disabling a module in Deckhouse deletes its Helm release, not its CRDs (deckhouse/deckhouse#16080; the module
    docs' "CRDs are not deleted when the module is disabled"). So with `virtualization` disabled its kinds stay
    served with every object intact (`kubectl get virtualization` still lists them), while what the release
    held goes: the controllers (dvpsim.controllers.base pauses them) and the APIService of
    subresources.virtualization.deckhouse.io (gone from discovery, 404). The CRDs are absent only from a cluster
    where the module was never enabled (Deckhouse installs them when it first enables the module)."""
    configs = {m["metadata"]["name"]: (m.get("spec") or {}).get("enabled") for m in
               cluster.store.iter(kinds.get("ModuleConfig"))}
    enabled = {name for name, on in configs.items() if on}
    if VIRTUALIZATION not in configs:
        enabled.add(VIRTUALIZATION)  # dvpsim without --demo (no ModuleConfig at all) stands for a DVP cluster
    if VIRTUALIZATION in enabled or _has_crds(cluster):
        cluster.__dict__["virtualization_crds"] = True
        enabled.add(kinds.VIRTUALIZATION_CRDS)
    return enabled


def _has_crds(cluster):
    """Installed once the module was enabled, or when a restored state holds objects of its kinds."""
    if "virtualization_crds" not in cluster.__dict__:
        cluster.__dict__["virtualization_crds"] = any(
            next(iter(cluster.store.iter(k)), None) is not None
            for k in kinds.KINDS if k.module == kinds.VIRTUALIZATION_CRDS)
    return cluster.__dict__["virtualization_crds"]


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
    if modules is None or VIRTUALIZATION in modules:  # the module's APIService, part of its Helm release
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
