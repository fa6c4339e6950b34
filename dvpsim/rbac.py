"""RBAC authorizer over Roles, ClusterRoles and their bindings kept in the store.

Follows kube-apiserver's semantics: `system:masters` may do anything; RoleBindings
grant in their namespace (refering to a Role or a ClusterRole), ClusterRoleBindings
everywhere; ClusterRoles with an aggregationRule gather the rules of the ClusterRoles
their selectors match.
"""

from . import kinds
from .selectors import parse_label_selector

_RBAC = "rbac.authorization.k8s.io"


def _subject_matches(subject, user):
    kind = subject.get("kind")
    name = subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return False


def _matches(values, wanted):
    return "*" in values or wanted in values


def _resource_matches(resources, resource, subresource):
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in resources:
        if r == "*" or r == combined:
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def rule_allows(rule, verb, group, resource, subresource, name):
    if not _matches(rule.get("verbs") or [], verb):
        return False
    if not _matches(rule.get("apiGroups") or [], group):
        return False
    if not _resource_matches(rule.get("resources") or [], resource, subresource):
        return False
    names = rule.get("resourceNames") or []
    if names and name not in names:
        return False
    return True


def non_resource_rule_allows(rule, verb, path):
    if not _matches(rule.get("verbs") or [], verb):
        return False
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


class Authorizer:
    def __init__(self, store):
        self.store = store

    def cluster_role_rules(self, name, _seen=None):
        role = self.store.peek(kinds.get("ClusterRole"), "", name)
        if role is None:
            return []
        rules = list(role.get("rules") or [])
        agg = role.get("aggregationRule")
        if agg:
            seen = (_seen or set()) | {name}
            for sel in agg.get("clusterRoleSelectors") or []:
                pred = parse_label_selector(sel)
                for other in self.store.iter(kinds.get("ClusterRole")):
                    oname = other["metadata"]["name"]
                    if oname not in seen and pred(other["metadata"].get("labels")):
                        seen.add(oname)
                        rules.extend(self.cluster_role_rules(oname, seen))
        return rules

    def _role_rules(self, ref, namespace):
        if ref.get("kind") == "ClusterRole":
            return self.cluster_role_rules(ref.get("name"))
        role = self.store.peek(kinds.get("Role"), namespace, ref.get("name"))
        return list(role.get("rules") or []) if role else []

    def grants(self, user, namespace):
        """Yield (description, rules) for every binding that applies to `user` in `namespace`
        (cluster-wide bindings always apply)."""
        for b in self.store.iter(kinds.get("ClusterRoleBinding")):
            if any(_subject_matches(s, user) for s in b.get("subjects") or []):
                ref = b.get("roleRef") or {}
                yield (f'ClusterRoleBinding "{b["metadata"]["name"]}" of ClusterRole "{ref.get("name")}"',
                       self.cluster_role_rules(ref.get("name")))
        if namespace:
            for b in self.store.iter(kinds.get("RoleBinding"), namespace):
                if any(_subject_matches(s, user) for s in b.get("subjects") or []):
                    ref = b.get("roleRef") or {}
                    yield (f'RoleBinding "{b["metadata"]["name"]}/{namespace}" of {ref.get("kind")} '
                           f'"{ref.get("name")}"', self._role_rules(ref, namespace))

    def authorize(self, user, *, verb, group, resource, subresource=None, namespace=None, name=None):
        """(allowed, reason) like the RBAC authorizer's SubjectAccessReview answers."""
        if "system:masters" in user.groups:
            return True, "allowed by group system:masters"
        for desc, rules in self.grants(user, namespace):
            for rule in rules:
                if rule_allows(rule, verb, group, resource, subresource or "", name):
                    return True, f'RBAC: allowed by {desc} to User "{user.name}"'
        return False, ""

    def authorize_path(self, user, verb, path):
        if "system:masters" in user.groups:
            return True, "allowed by group system:masters"
        for desc, rules in self.grants(user, None):
            for rule in rules:
                if non_resource_rule_allows(rule, verb, path):
                    return True, f"RBAC: allowed by {desc}"
        return False, ""

    def rules_for(self, user, namespace):
        """All resource and non-resource rules that apply (SelfSubjectRulesReview)."""
        if "system:masters" in user.groups:
            return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
        res, nonres = [], []
        for _desc, rules in self.grants(user, namespace):
            for r in rules:
                if r.get("nonResourceURLs"):
                    nonres.append({"verbs": r.get("verbs", []), "nonResourceURLs": r["nonResourceURLs"]})
                else:
                    out = {"verbs": r.get("verbs", []), "apiGroups": r.get("apiGroups", []),
                           "resources": r.get("resources", [])}
                    if r.get("resourceNames"):
                        out["resourceNames"] = r["resourceNames"]
                    res.append(out)
        return res, nonres


def forbidden_message(user, verb, group, resource, subresource=None, namespace=None, name=None):
    """The message kube-apiserver returns for a denied request."""
    qualified = f"{resource}.{group}" if group else resource
    if subresource:
        res_text = f"{resource}/{subresource}"
    else:
        res_text = resource
    head = f'{qualified} "{name}" is forbidden' if name else f"{qualified} is forbidden"
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return (f'{head}: User "{user.name}" cannot {verb} resource "{res_text}" '
            f'in API group "{group}" {where}')
