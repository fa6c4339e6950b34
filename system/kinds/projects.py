"""System → Projects (Deckhouse multitenancy's Project): every project with its usage; Create (the Project with its
template and parameters, as Deckhouse makes projects); members (RoleBindings to the d8:use:role:* ClusterRoles, for
a user or a group), added and removed; Delete saying what the project still holds."""
import yaml
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.kube import KubeError, kinds, quantity
from portal.kube.kinds import Kind
from projects.access import kube_for
from virtualization.forms import NameField
from virtualization.generic.detail import TabState
from virtualization.registry import Action, CreateChoice, Tab

from .. import access, generic
from ..registry import SystemResource, by_slug, register

ROLE_BINDING = Kind("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings")
ROLES = ("viewer", "user", "manager", "admin")
ROLE_PREFIX = "d8:use:role:"
HELD = (("virtual machines", kinds.VM), ("disks", kinds.DISK), ("images", kinds.IMAGE),
        ("disk snapshots", kinds.DISK_SNAPSHOT), ("VM snapshots", kinds.VM_SNAPSHOT))


class ProjectForm(forms.Form):
    name = NameField(label="Name")
    description = forms.CharField(label="Description", required=False, max_length=500)
    template = forms.CharField(label="Project template", initial="default", max_length=253,
                               help_text="The ProjectTemplate the project is made from (projectTemplateName).")
    parameters = forms.CharField(label="Parameters (YAML)", required=False, widget=forms.Textarea(attrs={
        "rows": 4, "spellcheck": "false"}), help_text="The template's parameters, e.g. resourceQuota: …")

    def __init__(self, *args, user=None, project=None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean_parameters(self):
        text = self.cleaned_data["parameters"].strip()
        try:
            value = yaml.safe_load(text) if text else {}
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"The parameters are not YAML: {exc}")
        if not isinstance(value, dict):
            raise forms.ValidationError("The parameters are a mapping (key: value).")
        return value

    def manifest(self):
        data = self.cleaned_data
        return {"metadata": {"name": data["name"]}, "spec": {
            "description": data["description"], "projectTemplateName": data["template"],
            "parameters": data["parameters"]}}


class MemberForm(forms.Form):
    subject_kind = forms.ChoiceField(label="User or group", choices=[("User", "User"), ("Group", "Group")])
    subject = forms.CharField(label="Name", max_length=253)
    role = forms.ChoiceField(label="Role", choices=[(r, f"{ROLE_PREFIX}{r}") for r in ROLES])


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    resource = by_slug("projects")
    access.require(request.user, resource)
    form = ProjectForm(request.POST or None)
    return generic.create_view(request, resource, form, "system/projects/create.html",
                               {"metadata.name": "name", "spec.projectTemplateName": "template",
                                "spec.parameters": "parameters"})


def usage(user, namespace):
    """What a project holds, by kind ({label: [names]}), and the CPU and memory its VMs ask for."""
    kube, held = kube_for(user), {}
    for label, kind in HELD:
        try:
            held[label] = sorted(o["metadata"]["name"] for o in kube.list(kind, namespace))
        except KubeError:
            held[label] = []
    cores, memory = 0, 0
    for vm in kube.list(kinds.VM, namespace) if held["virtual machines"] else ():
        cores += ((vm.get("spec") or {}).get("cpu") or {}).get("cores") or 0
        memory += quantity.parse(((vm.get("spec") or {}).get("memory") or {}).get("size") or "0") or 0
    return held, cores, memory


def members(user, namespace):
    try:
        bindings = kube_for(user).list(ROLE_BINDING, namespace)
    except KubeError:
        return []
    return [{"binding": b["metadata"]["name"], "role": b["roleRef"]["name"].removeprefix(ROLE_PREFIX),
             "subjects": [f'{s.get("kind")} {s.get("name")}' for s in b.get("subjects") or []]}
            for b in bindings if (b.get("roleRef") or {}).get("name", "").startswith(ROLE_PREFIX)]


def list_extra(user, rows):
    for row in rows:
        held, cores, memory = usage(user, row.name)
        row.extra = {"VMs": str(len(held["virtual machines"])), "Disks": str(len(held["disks"])),
                     "CPU cores": str(cores), "Memory": f"{memory / 1024**3:g}Gi"}
    return ("VMs", "Disks", "CPU cores", "Memory")


def detail_context(user, scope, obj):
    held, cores, memory = usage(user, obj["metadata"]["name"])
    return {"held": held, "cores": cores, "memory": f"{memory / 1024**3:g}Gi",
            "members": members(user, obj["metadata"]["name"])}


def delete_context(user, obj):
    held, _, _ = usage(user, obj["metadata"]["name"])
    items = [f"{label}: {', '.join(names)}" for label, names in held.items() if names]
    return {"used_by": items, "used_by_text": "Deleting the project deletes its namespace and everything in it:"
            if items else ""}


def members_context(user, scope, obj, state):
    return {"member_form": state.form or MemberForm(), "members": members(user, obj["metadata"]["name"])}


def add_member(request, scope, obj):
    form = MemberForm(request.POST)
    if not form.is_valid():
        return TabState(form=form)
    namespace, data = obj["metadata"]["name"], form.cleaned_data
    subject = {"kind": data["subject_kind"], "apiGroup": "rbac.authorization.k8s.io", "name": data["subject"]}
    try:
        kube_for(request.user).create(ROLE_BINDING, {
            "metadata": {"generateName": f"{data['role']}-"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": f"{ROLE_PREFIX}{data['role']}"}, "subjects": [subject]}, namespace)
    except KubeError as exc:
        form.add_error(None, exc.message)
        return TabState(form=form)
    messages.success(request, f"{data['subject_kind']} {data['subject']} is now {data['role']} of {namespace}.")
    return redirect(reverse("system:detail-tab", args=[resource, namespace, "members"]))


def remove_member(request, scope, obj):
    namespace, binding = obj["metadata"]["name"], request.POST.get("binding", "")
    kube_for(request.user).delete(ROLE_BINDING, binding, namespace)
    messages.success(request, f"The membership {binding} of {namespace} is removed.")
    return redirect(reverse("system:detail-tab", args=[resource, namespace, "members"]))


resource = register(SystemResource(
    slug="projects", kind=kinds.PROJECT, title="Projects", noun="project", section="multitenancy",
    section_title="Projects", gate="create", nav_order=10, columns=(),
    create=(CreateChoice("Create project", "", create, "project-create"),), create_label="Create project",
    tabs=(Tab("members", "Members", context=members_context, template="system/projects/tabs/members.html",
              actions=(Action("add", add_member), Action("remove", remove_member))),),
    list_extra=list_extra, detail_context=detail_context, delete_context=delete_context,
    live_watch=(kinds.VM, kinds.DISK),
))
