"""Writing the kubeconfig that points kubectl and the official client at dvpsim."""

import base64
import os

import yaml

from .cluster import ADMIN, CONSOLE_SA

ADMIN_CONTEXT = "dvpsim-admin"
CONSOLE_CONTEXT = "dvp-console"


def context_name(username):
    return {ADMIN: ADMIN_CONTEXT, CONSOLE_SA: CONSOLE_CONTEXT}.get(username, username)


def write(cluster, path, server=None, ca_pem=None):
    """Write the kubeconfig: one context per registered user. `server` defaults to
    cluster.url; with `ca_pem` (for the HTTPS listener) the CA is embedded."""
    users, contexts = [], []
    for name, token in cluster.users.items():
        users.append({"name": name, "user": {"token": token}})
        contexts.append({"name": context_name(name), "context": {"cluster": "dvpsim", "user": name}})
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "dvpsim", "cluster": _cluster_entry(server or cluster.url, ca_pem)}],
        "users": users, "contexts": contexts, "current-context": ADMIN_CONTEXT,
    }
    tmp = f"{path}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    os.replace(tmp, path)


def _cluster_entry(server, ca_pem):
    entry = {"server": server}
    if ca_pem:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return entry
