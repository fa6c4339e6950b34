"""The console's door to the Kubernetes API: every call is made as a given user."""
import json
import logging

import urllib3
from django.conf import settings
from urllib3 import HTTPHeaderDict
from kubernetes.client.exceptions import ApiException

from . import errors, observe
from .config import api_client
from .identity import Identity
from .kinds import SUBRESOURCES, Kind

log = logging.getLogger(__name__)

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Kube:
    """API access as a user (an Identity: impersonated with their groups, or their own token), or as
    the console itself when identity is None.

    The console's own identity is used for exactly one thing: enumerating Projects (see
    projects.access). Everything that serves a user passes that user's Identity.
    """

    def __init__(self, identity: Identity | None):
        self.identity = identity

    # --- transport -------------------------------------------------------------------------

    def request(self, method, path, *, query=None, body=None, headers=None):
        client = api_client()
        query = [(k, v) for k, v in (query or {}).items() if v not in (None, "")]
        header_params = {"Accept": "application/json", **(headers or {})}
        if body is not None and "Content-Type" not in header_params:
            header_params["Content-Type"] = "application/json"
        own_token = self.identity is None or not self.identity.token
        method, url, header_params, body, _ = client.param_serialize(
            method, path, query_params=query, header_params=header_params, body=body,
            auth_settings=["BearerToken"] if own_token else [],
        )
        header_params = HTTPHeaderDict(header_params)
        for name, value in self.identity.headers() if self.identity else ():
            header_params.add(name, value)
        with observe.api_call(self.identity, method, path, query=query, body=body) as call:
            try:
                response = client.call_api(method, url, header_params, body,
                                           _request_timeout=settings.DVP_REQUEST_TIMEOUT)
                data = response.read()
            except ApiException as exc:
                raise errors.from_status(exc.status or 503, exc.body) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                log.warning("API unreachable: %s %s: %s", method, path, exc)
                raise errors.Unavailable(f"The Kubernetes API cannot be reached: {exc.__class__.__name__}") from exc
            if not 200 <= response.status < 300:
                raise errors.from_status(response.status, data)
            call.status, call.answer = response.status, (json.loads(data) if data else {})
        return call.answer

    # --- objects ---------------------------------------------------------------------------

    def get(self, kind: Kind, name, namespace=None):
        return self.request("GET", kind.object_path(name, namespace))

    def list(self, kind: Kind, namespace=None, *, label_selector=None, field_selector=None):
        data = self.request("GET", kind.collection_path(namespace),
                            query={"labelSelector": label_selector, "fieldSelector": field_selector})
        return data.get("items", [])

    def table(self, kind: Kind, namespace=None, *, name=None, label_selector=None, limit=None, continue_token=None):
        """kubectl's view of the kind: a meta.k8s.io Table with columnDefinitions and rows.

        With `limit`, one page; the Table's metadata.continue then fetches the next one.
        """
        path = kind.object_path(name, namespace) if name else kind.collection_path(namespace)
        return self.request("GET", path, query={"labelSelector": label_selector, "includeObject": "Object",
                                                "limit": str(limit) if limit else None, "continue": continue_token},
                            headers={"Accept": TABLE_ACCEPT})

    def create(self, kind: Kind, body, namespace=None, *, dry_run=False):
        body = {"apiVersion": kind.api_version, "kind": kind.kind, **body}
        return self.request("POST", kind.collection_path(namespace), body=body,
                            query={"dryRun": "All" if dry_run else None})

    def patch(self, kind: Kind, name, patch, namespace=None):
        content_type = JSON_PATCH if isinstance(patch, list) else MERGE_PATCH
        return self.request("PATCH", kind.object_path(name, namespace), body=patch,
                            headers={"Content-Type": content_type})

    def replace(self, kind: Kind, name, body, namespace=None, *, dry_run=False, strict=False):
        """PUT the object; `strict` refuses fields the API does not know instead of dropping them (kubectl's
        default, `fieldValidation=Strict`)."""
        return self.request("PUT", kind.object_path(name, namespace), body=body,
                            query={"dryRun": "All" if dry_run else None,
                                   "fieldValidation": "Strict" if strict else None})

    def delete(self, kind: Kind, name, namespace=None):
        return self.request("DELETE", kind.object_path(name, namespace))

    # --- discovery -------------------------------------------------------------------------

    def groups(self):
        """The API groups the server serves: {group name: [group/version, ...]} in the server's order of
        preference (discovery, which every authenticated user may read)."""
        return {group["name"]: [v["groupVersion"] for v in group.get("versions") or []]
                for group in self.request("GET", "/apis").get("groups") or []}

    # --- authorization ---------------------------------------------------------------------

    def can(self, verb, kind: Kind | None = None, namespace=None, name=None, *, subresource=None,
            group=None, resource=None):
        """Ask the API server (SelfSubjectAccessReview) whether this user may do `verb`."""
        attributes = {
            "verb": verb,
            "group": kind.group if kind else (group or ""),
            "resource": kind.plural if kind else resource,
            "namespace": namespace or "",
            "name": name or "",
            "subresource": subresource or "",
        }
        review = self.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body={
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        })
        return bool(review.get("status", {}).get("allowed"))

    def can_open_console(self, namespace, name, stream="console"):
        """Whether this user may open the VM's serial console ("console") or VNC display ("vnc")."""
        return self.can("get", None, namespace, name, subresource=stream, group=SUBRESOURCES,
                        resource="virtualmachines")
