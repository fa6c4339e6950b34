"""System → Virtualization → VM Classes (VirtualMachineClass): list (the default class, how many VMs use each),
detail, the admin guide's creation form and its edit form (`.spec.cpu` shown locked), delete naming the VMs that
still use the class. Every user may read classes (they pick one for a VM): the page's gate is create."""
from portal.kube import kinds
from projects.access import kube_for
from virtualization.registry import CreateChoice, Route

from ...registry import SystemResource, register
from . import views
from .form import DEFAULT_ANNOTATION


def vms_by_class(user):
    """{class name: ["namespace/vm", ...]} of every VM the user may list (all projects, for an operator)."""
    users = {}
    for vm in kube_for(user).list(kinds.VM):
        meta = vm["metadata"]
        users.setdefault((vm.get("spec") or {}).get("virtualMachineClassName", ""), []).append(
            f'{meta["namespace"]}/{meta["name"]}')
    return users


def list_extra(user, rows):
    users = vms_by_class(user)
    for row in rows:
        row.extra = {"Default": "default" if (row.object.get("metadata", {}).get("annotations") or {}).get(
            DEFAULT_ANNOTATION) == "true" else "", "VMs": str(len(users.get(row.name, [])))}
    return ("Default", "VMs")


def detail_context(user, scope, obj):
    return {"vms": sorted(vms_by_class(user).get(obj["metadata"]["name"], [])),
            "is_default": (obj["metadata"].get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"}


def delete_context(user, obj):
    vms = sorted(vms_by_class(user).get(obj["metadata"]["name"], []))
    return {"used_by": vms, "used_by_text": (
        f"{len(vms)} virtual machine{'s' if len(vms) != 1 else ''} use{'s' if len(vms) == 1 else ''} this class. "
        "It stays Terminating until none does; these are they:") if vms else ""}


resource = register(SystemResource(
    slug="vm-classes", kind=kinds.VM_CLASS, title="VM Classes", noun="VM class",
    section="virtualization", section_title="Virtualization", gate="create", nav_order=20,
    create_label="Create", create=(CreateChoice("Create", "", views.create, "vm-class-create"),),
    routes=(Route("<str:name>/edit/", views.edit, "vm-class-edit"),),
    list_extra=list_extra, detail_context=detail_context, delete_context=delete_context, keep_after_delete=True,
    live_watch=(kinds.VM,),
))
