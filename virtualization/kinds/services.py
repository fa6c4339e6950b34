"""Network → Services (core v1 Service): the guide's "Organizing interaction with virtual machines".

A Service selects VMs by their labels (DVP puts a VM's labels on its virt-launcher Pod, whose address is the
VM's); the form makes each type the guide shows: headless (clusterIP None), ClusterIP, NodePort and
LoadBalancer. The page of a Service says how it is reached (its DNS name, cluster IP, node ports, external
address or pending) and which VMs are behind it, from its EndpointSlices, all read as the user.
"""
from django import forms
from django.core.exceptions import ValidationError

from portal.kube import KubeError, kinds
from projects.access import can, get_project, kube_for

from ..forms import NameField
from ..generic.create import create_view
from ..generic.meta import KEY_RE, LABEL_VALUE_RE
from ..registry import CreateChoice, ExtraColumn, LiveRelation, Resource, register

CLUSTER_DOMAIN = "cluster.local"  # the guide: <service-name>.<namespace>.svc.<clustername>
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
HEADLESS = "Headless"
TYPES = (
    (HEADLESS, "Headless: the DNS name returns the addresses of the VMs, no common IP"),
    ("ClusterIP", "ClusterIP: one stable address inside the cluster"),
    ("NodePort", "NodePort: a port on every node of the cluster"),
    ("LoadBalancer", "LoadBalancer: an external address from the cluster's load balancer"),
)
FIELD_MAP = {"metadata.name": "name", "spec.type": "type", "spec.clusterIP": "type", "spec.clusterIPs": "type",
             "spec.selector": "other_labels", "spec.ports": "port", "spec.ports[0].port": "port",
             "spec.ports[0].targetPort": "target_port", "spec.ports[0].nodePort": "node_port",
             "spec.ports[0].protocol": "protocol"}


def parse_labels(text):
    """{key: value} of "app=nginx, tier=web" (commas or new lines); ValidationError names the first bad one."""
    labels = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not KEY_RE.match(key) or not LABEL_VALUE_RE.match(value):
            raise ValidationError(f"“{item}” is not a label: write key=value, for example app=nginx.")
        labels[key] = value
    return labels


def selects(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def project_vm_labels(vms):
    """[(key=value, [VM names])] of the labels the project's VMs carry, to pick a selector from."""
    found = {}
    for vm in vms:
        for key, value in ((vm["metadata"].get("labels") or {}).items()):
            found.setdefault(f"{key}={value}", []).append(vm["metadata"]["name"])
    return sorted((label, sorted(names)) for label, names in found.items())


class ServiceForm(forms.Form):
    name = NameField(label="Name", help_text="Reached inside the cluster as <name>.<project>.svc.")
    type = forms.ChoiceField(label="Type", choices=TYPES, initial="ClusterIP", widget=forms.RadioSelect)
    labels = forms.MultipleChoiceField(
        label="Virtual machines with the labels", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The Service sends traffic to every VM of the project that has all the chosen labels.")
    other_labels = forms.CharField(
        label="Other labels", required=False, widget=forms.TextInput(attrs={"placeholder": "app=nginx"}),
        help_text="Labels no VM has yet, as key=value separated by commas; set them on a VM in its Meta tab.")
    protocol = forms.ChoiceField(label="Protocol", choices=(("TCP", "TCP"), ("UDP", "UDP"), ("SCTP", "SCTP")),
                                 initial="TCP")
    port = forms.IntegerField(label="Port", required=False, widget=forms.NumberInput(attrs={"placeholder": "80"}),
                              help_text="The port of the Service. A headless Service may have none.")
    target_port = forms.IntegerField(label="Target port", required=False,
                                     widget=forms.NumberInput(attrs={"placeholder": "80"}),
                                     help_text="The port the application listens on in the VM (default: Port).")
    node_port = forms.IntegerField(label="Node port", required=False,
                                   widget=forms.NumberInput(attrs={"placeholder": "31880"}),
                                   help_text="NodePort and LoadBalancer only; empty: the cluster assigns one.")

    def __init__(self, *args, vms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.vm_labels = project_vm_labels(vms)
        self.fields["labels"].choices = [(label, label) for label, _ in self.vm_labels]
        self.vms_by_label = dict(self.vm_labels)

    def clean_other_labels(self):
        return parse_labels(self.cleaned_data["other_labels"])

    def clean(self):
        data = super().clean()
        if "other_labels" in data and "labels" in data:
            selector = parse_labels(",".join(data["labels"]))
            selector.update(data["other_labels"])
            if not selector:
                self.add_error("other_labels", "Choose at least one label: a Service selects its VMs by labels.")
            data["selector"] = selector
        return data

    def manifest(self):
        data = self.cleaned_data
        spec = {"selector": data["selector"]}
        if data["type"] == HEADLESS:
            spec["clusterIP"] = "None"
        else:
            spec["type"] = data["type"]
        if data.get("port") is not None:
            port = {"protocol": data["protocol"], "port": data["port"],
                    "targetPort": data["target_port"] if data.get("target_port") is not None else data["port"]}
            if data.get("node_port") is not None:
                port["nodePort"] = data["node_port"]
            spec["ports"] = [port]
        elif data.get("node_port") is not None or data.get("target_port") is not None:
            spec["ports"] = [{k: v for k, v in (("targetPort", data.get("target_port")),
                                                  ("nodePort", data.get("node_port"))) if v is not None}]
        return {"metadata": {"name": data["name"]}, "spec": spec}


def create(request, project):
    """"Network" → "Services" → Create; ?vm=<name> is the VM page's "Expose": that VM's labels chosen."""
    project = get_project(request.user, project)
    vms = kube_for(request.user).list(kinds.VM, project.name)
    initial = {}
    exposed = next((vm for vm in vms if vm["metadata"]["name"] == request.GET.get("vm")), None)
    if exposed is not None:
        labels = exposed["metadata"].get("labels") or {}
        initial = {"labels": [f"{k}={v}" for k, v in labels.items()], "name": exposed["metadata"]["name"][:50]}
    form = ServiceForm(request.POST or None, vms=vms, initial=initial)
    return create_view(request, project, resource, form, "virtualization/services/create.html", FIELD_MAP,
                       exposed=exposed and exposed["metadata"]["name"], exposed_labels=bool(initial.get("labels")), may_create=can(request.user, "create", kinds.SERVICE, project.name))


def endpoint_addresses(kube, project, service_name=None):
    """(ready, not ready) addresses of the EndpointSlices of one Service, or of all, by Service name."""
    selector = f"{SERVICE_NAME_LABEL}={service_name}" if service_name else SERVICE_NAME_LABEL
    by_service = {}
    try:
        slices = kube.list(kinds.ENDPOINT_SLICE, project, label_selector=selector)
    except KubeError:
        slices = []  # a user who may not read them sees every VM without an endpoint
    for endpoint_slice in slices:
        ready, not_ready = by_service.setdefault(endpoint_slice["metadata"]["labels"][SERVICE_NAME_LABEL],
                                                 (set(), set()))
        for endpoint in endpoint_slice.get("endpoints") or []:
            target = ready if (endpoint.get("conditions") or {}).get("ready") else not_ready
            target.update(endpoint.get("addresses") or [])
    return by_service


def backends(user, project, service, vms=None, endpoints=None):
    """The project's VMs the Service selects, each with how its endpoint stands: serving (a ready address),
    not ready (starting, paused, …) or no endpoint (the VM has no address or is stopped)."""
    kube, name = kube_for(user), service["metadata"]["name"]
    vms = kube.list(kinds.VM, project) if vms is None else vms
    endpoints = endpoint_addresses(kube, project, name) if endpoints is None else endpoints
    ready, not_ready = endpoints.get(name, (set(), set()))
    selector = (service.get("spec") or {}).get("selector") or {}
    found = []
    for vm in sorted(vms, key=lambda v: v["metadata"]["name"]):
        if not selects(selector, vm["metadata"].get("labels")):
            continue
        status = vm.get("status") or {}
        ip = status.get("ipAddress") or ""
        state = "serving" if ip in ready else "not ready" if ip in not_ready else "no endpoint"
        found.append({"name": vm["metadata"]["name"], "ip": ip, "phase": status.get("phase") or "Pending",
                      "state": state})
    return found


def vms_column(user, project, objects):
    """The list's "Virtual machines" column: the VMs behind each Service, those without an endpoint marked."""
    kube = kube_for(user)
    vms, endpoints = kube.list(kinds.VM, project), endpoint_addresses(kube, project)
    return {service["metadata"]["name"]: ", ".join(
        b["name"] if b["state"] == "serving" else f"{b['name']} ({b['state']})"
        for b in backends(user, project, service, vms, endpoints)) or "none" for service in objects}


def addresses(service, project):
    """How the Service is reached, by type: [(what, value)]."""
    spec, status = service.get("spec") or {}, service.get("status") or {}
    name = service["metadata"]["name"]
    dns = f"{name}.{project}.svc"
    ports = spec.get("ports") or []
    found = [("DNS name", f"{dns} ({dns}.{CLUSTER_DOMAIN})")]
    if spec.get("clusterIP") == "None":
        found.append(("Cluster IP", "none (headless): the DNS name returns the addresses of the VMs"))
    elif spec.get("clusterIP"):
        found.append(("Cluster IP", ", ".join(f"{spec['clusterIP']}:{p.get('port')}/{p.get('protocol', 'TCP')}"
                                             for p in ports) or spec["clusterIP"]))
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        found.append(("Node ports", ", ".join(f"{p.get('nodePort')}/{p.get('protocol', 'TCP')} on every node → "
                                             f"{p.get('targetPort')}" for p in ports if p.get("nodePort")) or "none"))
    if spec.get("type") == "LoadBalancer":
        external = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
        found.append(("External IP", ", ".join(external) if external else
                      "pending: no load balancer has given the Service an address yet"))
    return found


def service_type(service):
    spec = service.get("spec") or {}
    return HEADLESS if spec.get("clusterIP") == "None" else spec.get("type", "ClusterIP")


def detail_context(user, project, obj):
    ports = [{"port": p.get("port"), "node_port": p.get("nodePort") or "", "protocol": p.get("protocol", "TCP"),
              "target_port": p.get("targetPort", p.get("port"))} for p in (obj.get("spec") or {}).get("ports") or []]
    return {"service_type": service_type(obj), "addresses": addresses(obj, project.name),
            "backends": backends(user, project.name, obj), "ports": ports,
            "selector": sorted(((obj.get("spec") or {}).get("selector") or {}).items())}


def _slice_of(endpoint_slice, name):
    return (endpoint_slice["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name


resource = register(Resource(
    slug="services", kind=kinds.SERVICE, title="Services", noun="Service", create_label="Create Service",
    create=(CreateChoice("Create Service", "", create, "service-create"),),
    columns=(), detail_context=detail_context,
    extra_columns=(ExtraColumn("Virtual machines", vms_column, "The VMs the selector picks; (no endpoint): not "
                                                               "served, e.g. stopped"),),
    live_related=(LiveRelation(kinds.ENDPOINT_SLICE, _slice_of), LiveRelation(kinds.VM, lambda vm, name: True)),
    nav_section="Network", nav_order=110,
))


def reaching(user, project, vm):
    """What reaches a VM (its page's "Services and Ingresses"): the Services whose selector matches its labels and
    the Ingresses sending to those Services, read as the user; None for a kind the user may not list."""
    kube, labels = kube_for(user), vm["metadata"].get("labels") or {}
    try:
        found = [s for s in kube.list(kinds.SERVICE, project) if selects((s.get("spec") or {}).get("selector"), labels)]
    except KubeError:
        return {"reach_services": None, "reach_ingresses": None, "may_expose": False}
    names = {s["metadata"]["name"] for s in found}
    try:
        ingresses = kube.list(kinds.INGRESS, project)
    except KubeError:
        ingresses = None
    routes = []
    for ingress in ingresses or []:
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                service = ((path.get("backend") or {}).get("service") or {}).get("name")
                if service in names:
                    routes.append({"ingress": ingress["metadata"]["name"], "host": rule.get("host") or "*",
                                   "path": path.get("path", ""), "service": service})
    found.sort(key=lambda s: s["metadata"]["name"])
    return {"reach_services": [{"name": s["metadata"]["name"], "type": service_type(s),
                                "addresses": addresses(s, project)} for s in found],
            "reach_ingresses": None if ingresses is None else routes,
            "may_expose": can(user, "create", kinds.SERVICE, project)}
