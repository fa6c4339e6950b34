"""Objects every dvpsim cluster starts with: system namespaces, the built-in ClusterRoles,
the DVP `use` role chain (viewer ⊂ user ⊂ manager ⊂ admin) and the console's service account."""

from . import kinds
from .cluster import ADMIN, CONSOLE_SA

DVP = kinds.DVP
SUB = kinds.SUBRESOURCES_GROUP
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
AGG_LABEL = "rbac.deckhouse.io/aggregate-to-virtualization-as"
ROLE_CHAIN = ("viewer", "user", "manager", "admin")

NAMESPACED_DVP = [k.plural for k in kinds.KINDS if k.group == DVP and k.namespaced]
MANAGED_DVP = ["virtualdisks", "virtualdisksnapshots", "virtualimages", "virtualmachineblockdeviceattachments",
               "virtualmachineipaddresses", "virtualmachinemacaddresses", "virtualmachines",
               "virtualmachinesnapshots"]


def _cluster_role(name, rules, labels=None, aggregate=None):
    obj = {"metadata": {"name": name, "labels": dict(labels or {})}, "rules": rules}
    if aggregate:
        obj["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return obj


def _capability(name, level, rules):
    return _cluster_role(f"d8:use:capability:{name}", rules, {AGG_LABEL: level})


def _binding(name, role, subjects):
    return {"metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def _group(name):
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def cluster_roles():
    roles = [
        _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                        {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        _cluster_role("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version",
                                                                "/healthz", "/livez", "/readyz", "/openapi/*"],
                                            "verbs": ["get"]}]),
        # Shared catalogue every project member needs for create forms.
        _cluster_role("d8:use:cluster-read", [
            {"apiGroups": [DVP], "resources": ["virtualmachineclasses", "clustervirtualimages"], "verbs": READ},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": READ},
            {"apiGroups": [kinds.SDN], "resources": ["clusternetworks"], "verbs": READ}]),
        _capability("virtualization:view_resources", "viewer", [
            {"apiGroups": [DVP], "resources": NAMESPACED_DVP, "verbs": READ},
            {"apiGroups": [SUB], "resources": ["virtualmachines"], "verbs": ["get"]}]),
        # The sdn module's project networks, which VMs of the project may join (spec.networks).
        _capability("sdn:view_networks", "viewer", [
            {"apiGroups": [kinds.SDN], "resources": ["networks"], "verbs": READ}]),
        _capability("kubernetes:view_basic", "viewer", [
            {"apiGroups": [""], "resources": ["events", "persistentvolumeclaims", "configmaps", "services",
                                              "endpoints", "serviceaccounts"], "verbs": READ},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": READ}]),
        _capability("virtualization:access_console", "user", [
            {"apiGroups": [SUB], "resources": ["virtualmachines/console"], "verbs": ["get", "create", "update"]}]),
        _capability("virtualization:access_remote_display", "user", [
            {"apiGroups": [SUB], "resources": ["virtualmachines/vnc"], "verbs": ["get", "create", "update"]}]),
        _capability("virtualization:forward_ports", "user", [
            {"apiGroups": [SUB], "resources": ["virtualmachines/portforward"], "verbs": ["get", "create", "update"]}]),
        _capability("virtualization:execute_virtualmachine_operations", "user", [
            {"apiGroups": [DVP], "resources": ["virtualmachineoperations"], "verbs": WRITE}]),
        _capability("virtualization:execute_virtualmachinesnapshot_operations", "user", [
            {"apiGroups": [DVP], "resources": ["virtualmachinesnapshotoperations"], "verbs": WRITE}]),
        # `d8 download` (the guide's "Data export"): project users create, read and delete DataExports of their
        # project's volumes; reading one is what the exporter checks before it serves the data.
        _capability("storage-volume-data-manager:export_data", "user", [
            {"apiGroups": ["storage.deckhouse.io"], "resources": ["dataexports"], "verbs": READ + WRITE}]),
        _capability("virtualization:manage_resources", "manager", [
            {"apiGroups": [DVP], "resources": MANAGED_DVP, "verbs": WRITE}]),
        # Publishing a VM's service (the guide's Services and Ingresses), as Deckhouse's manage_resources grants.
        _capability("kubernetes:manage_services", "manager", [
            {"apiGroups": [""], "resources": ["services"], "verbs": WRITE},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": WRITE}]),
        _capability("kubernetes:manage_secrets", "manager", [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": READ + WRITE}]),
        _capability("kubernetes:manage_rbac", "admin", [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
             "verbs": READ + WRITE}]),
        _cluster_role("dvp-console", [
            {"apiGroups": [""], "resources": ["users", "groups", "serviceaccounts"], "verbs": ["impersonate"]},
            {"apiGroups": ["deckhouse.io"], "resources": ["projects"], "verbs": READ},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": READ},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]}]),
    ]
    for i, level in enumerate(ROLE_CHAIN):
        roles.append(_cluster_role(
            f"d8:use:role:{level}", [],
            aggregate=[{"matchExpressions": [{"key": AGG_LABEL, "operator": "In",
                                              "values": list(ROLE_CHAIN[:i + 1])}]}]))
    return roles


def cluster_role_bindings():
    return [
        _binding("cluster-admin", "cluster-admin", [_group("system:masters")]),
        _binding("system:basic-user", "system:basic-user", [_group("system:authenticated")]),
        _binding("system:discovery", "system:discovery", [_group("system:authenticated")]),
        _binding("d8:use:cluster-read", "d8:use:cluster-read", [_group("system:authenticated")]),
        _binding("dvp-console", "dvp-console",
                 [{"kind": "ServiceAccount", "name": "dvp-console", "namespace": "d8-console"}]),
    ]


def install(cluster):
    """Create whatever of the bootstrap objects is missing (idempotent) and register the
    admin and console identities."""
    def ensure(kind_name, obj):
        kind = kinds.get(kind_name)
        meta = obj["metadata"]
        if cluster.store.peek(kind, meta.get("namespace", ""), meta["name"]) is None:
            cluster.create(kind, obj)

    for ns in ("default", "kube-system", "kube-public", "d8-console", "d8-virtualization"):
        ensure("Namespace", {"metadata": {"name": ns}})
    ensure("ServiceAccount", {"metadata": {"name": "dvp-console", "namespace": "d8-console"}})
    for role in cluster_roles():
        ensure("ClusterRole", role)
        _reconcile_cluster_role(cluster, role)
    for binding in cluster_role_bindings():
        ensure("ClusterRoleBinding", binding)
    if ADMIN not in cluster.users:
        cluster.add_user(ADMIN, ("system:masters",))
    if CONSOLE_SA not in cluster.users:
        cluster.add_user(CONSOLE_SA, ("system:serviceaccounts", "system:serviceaccounts:d8-console"))


def _reconcile_cluster_role(cluster, role):
    """As kube-apiserver reconciles its bootstrap roles at start: a saved state from an older dvpsim gets the rules
    of this one (e.g. reading the sdn module's networks)."""
    kind = kinds.get("ClusterRole")
    current = cluster.store.peek(kind, "", role["metadata"]["name"])
    if current is None:
        return
    labels = {**(current["metadata"].get("labels") or {}), **role["metadata"]["labels"]}
    if current.get("rules") == role["rules"] and current.get("aggregationRule") == role.get("aggregationRule") and \
            current["metadata"].get("labels") == labels:
        return
    import copy
    updated = copy.deepcopy(current)
    updated["rules"] = role["rules"]
    updated["metadata"]["labels"] = labels
    if "aggregationRule" in role:
        updated["aggregationRule"] = role["aggregationRule"]
    updated["metadata"].pop("resourceVersion", None)
    cluster.update(kind, updated)
