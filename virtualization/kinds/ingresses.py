"""Network → Ingresses (networking.k8s.io/v1 Ingress): the guide's "Publish virtual machine services using
Ingress". "Create Ingress" makes the guide's example: one rule (host, path and its type) sending HTTP to a
Service of the project on one port, with an optional TLS secret for HTTPS. Its page shows where it is served
(the addresses the ingress controller wrote, or pending) and the VMs behind its Services.
"""
from django import forms

from portal.kube import KubeError, kinds
from projects.access import can, get_project, kube_for

from ..forms import NameField
from ..generic.create import create_view
from ..registry import CreateChoice, LiveRelation, Resource, register
from . import services

PATH_TYPES = (("Prefix", "Prefix: the path and everything under it"), ("Exact", "Exact: this path only"),
              ("ImplementationSpecific", "ImplementationSpecific: as the ingress controller reads it"))
RULE = "spec.rules[0]"
FIELD_MAP = {"metadata.name": "name", "spec": "host", RULE: "host", f"{RULE}.host": "host",
             f"{RULE}.http.paths[0].path": "path", f"{RULE}.http.paths[0].pathType": "path_type",
             f"{RULE}.http.paths[0].backend": "service", f"{RULE}.http.paths[0].backend.service.name": "service",
             f"{RULE}.http.paths[0].backend.service.port": "port", "spec.tls": "tls_secret",
             "spec.tls[0].hosts": "host", "spec.ingressClassName": "ingress_class"}


class IngressForm(forms.Form):
    name = NameField(label="Name")
    host = forms.CharField(label="Host", widget=forms.TextInput(attrs={"placeholder": "linux-vm.example.com"}),
                           help_text="The domain name requests come for; its DNS record must point at the cluster's "
                                     "ingress addresses.")
    path = forms.CharField(label="Path", initial="/")
    path_type = forms.ChoiceField(label="Path type", choices=PATH_TYPES, initial="Prefix")
    service = forms.ChoiceField(label="Service", help_text="The Service of the project that receives the requests.")
    port = forms.IntegerField(label="Service port", initial=80)
    tls_secret = forms.ChoiceField(label="TLS secret", required=False,
                                   help_text="A Secret of type kubernetes.io/tls with the host's certificate: HTTPS "
                                             "is then served with it. None: HTTP only.")

    def __init__(self, *args, service_list=(), secrets=None, **kwargs):
        super().__init__(*args, **kwargs)
        by_name = sorted(service_list, key=lambda s: s["metadata"]["name"])
        self.fields["service"].choices = [("", "— choose a Service —")] + [
            (s["metadata"]["name"], _service_label(s)) for s in by_name]
        self.secrets_readable = secrets is not None
        self.fields["tls_secret"].choices = [("", "none (HTTP only)")] + [(n, n) for n in secrets or []]
        if secrets is None:  # the user may not list Secrets: the name is typed
            self.fields["tls_secret"] = forms.CharField(label="TLS secret", required=False,
                                                        help_text=self.fields["tls_secret"].help_text)

    def manifest(self):
        data = self.cleaned_data
        backend = {"service": {"name": data["service"], "port": {"number": data["port"]}}}
        spec = {"rules": [{"host": data["host"].strip(), "http": {"paths": [
            {"path": data["path"].strip(), "pathType": data["path_type"], "backend": backend}]}}]}
        if data.get("tls_secret"):
            spec["tls"] = [{"hosts": [data["host"].strip()], "secretName": data["tls_secret"].strip()}]
        return {"metadata": {"name": data["name"]}, "spec": spec}


def _service_label(service):
    ports = ", ".join(str(p.get("port")) for p in (service.get("spec") or {}).get("ports") or [])
    return f"{service['metadata']['name']} ({services.service_type(service)}{', port ' + ports if ports else ''})"


def tls_secrets(user, project):
    """Names of the project's TLS Secrets, or None when the user may not list Secrets."""
    if not can(user, "list", kinds.SECRET, project):
        return None
    try:
        items = kube_for(user).list(kinds.SECRET, project)
    except KubeError:
        return None
    return sorted(s["metadata"]["name"] for s in items if s.get("type") == "kubernetes.io/tls")


def create(request, project):
    """"Network" → "Ingresses" → "Create Ingress"; ?service=<name> chooses the Service."""
    project = get_project(request.user, project)
    service_list = kube_for(request.user).list(kinds.SERVICE, project.name)
    form = IngressForm(request.POST or None, service_list=service_list, secrets=tls_secrets(request.user, project.name),
                       initial={"service": request.GET.get("service", "")})
    return create_view(request, project, resource, form, "virtualization/ingresses/create.html", FIELD_MAP,
                       may_create=can(request.user, "create", kinds.INGRESS, project.name))


def routes(ingress):
    """[{host, path, path_type, service, port, tls}] of every rule and path."""
    spec = ingress.get("spec") or {}
    tls_hosts = {h: t.get("secretName", "") for t in spec.get("tls") or [] for h in t.get("hosts") or []}
    found = []
    for rule in spec.get("rules") or []:
        host = rule.get("host") or "*"
        for path in (rule.get("http") or {}).get("paths") or []:
            service = (path.get("backend") or {}).get("service") or {}
            port = service.get("port") or {}
            found.append({"host": host, "path": path.get("path", ""), "path_type": path.get("pathType", ""),
                          "service": service.get("name", ""), "port": port.get("number") or port.get("name", ""),
                          "tls": tls_hosts.get(host, "")})
    return found


def backend_services(ingress):
    return sorted({r["service"] for r in routes(ingress) if r["service"]})


def detail_context(user, project, obj):
    kube = kube_for(user)
    vms = kube.list(kinds.VM, project.name)
    behind = []
    for name in backend_services(obj):
        try:
            service = kube.get(kinds.SERVICE, name, project.name)
        except KubeError:
            behind.append({"name": name, "missing": True, "backends": []})
            continue
        behind.append({"name": name, "missing": False, "backends": services.backends(user, project.name, service, vms)})
    served = [i.get("ip") or i.get("hostname") for i in
              ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    return {"routes": routes(obj), "served_on": served, "behind": behind,
            "ingress_class": (obj.get("spec") or {}).get("ingressClassName") or ""}


resource = register(Resource(
    slug="ingresses", kind=kinds.INGRESS, title="Ingresses", noun="Ingress resource", create_label="Create Ingress",
    create=(CreateChoice("Create Ingress", "", create, "ingress-create"),),
    columns=(), detail_context=detail_context,
    live_related=(LiveRelation(kinds.SERVICE, lambda service, name: True),
                  LiveRelation(kinds.ENDPOINT_SLICE, lambda endpoint_slice, name: True)),
    nav_section="Network", nav_order=120,
))
