"""System → Projects: an operator creates a Project with its template and parameters, adds and removes members with
the d8:use:role:* roles, sees the usage, and the delete page says what the project holds."""
from django.urls import reverse
from kubernetes import client

from tests.kube import get_cluster_object, make_vm, wait_for

LIST = reverse("system:list", args=["multitenancy/projects"])
CLUSTER_KIND = ("deckhouse.io", "v1alpha2", "projects")  # what `cleanup` deletes (dvpsim then deletes the namespace)


def project_of(sim, name):
    return get_cluster_object(sim, "projects", name, "deckhouse.io", "v1alpha2")


def test_it_creates_a_project_from_a_template_with_parameters(operator, sim, unique, cleanup):
    name = unique("proj")
    cleanup.append(name)
    response = operator.post(reverse("system:project-create"), {
        "name": name, "description": "Team A", "template": "default",
        "parameters": "resourceQuota:\n  requests:\n    cpu: 5\n"})
    assert response.status_code == 302
    spec = project_of(sim, name)["spec"]
    assert spec == {"description": "Team A", "projectTemplateName": "default",
                    "parameters": {"resourceQuota": {"requests": {"cpu": 5}}}}
    wait_for(lambda: (project_of(sim, name).get("status") or {}).get("state") == "Deployed")


def test_it_keeps_bad_parameters_on_their_field(operator, sim, unique):
    name = unique("proj")
    response = operator.post(reverse("system:project-create"), {"name": name, "template": "default",
                                                                "parameters": "- a list"})
    assert response.status_code == 422 and "The parameters are a mapping" in response.content.decode()
    assert project_of(sim, name) is None


def test_it_adds_and_removes_a_member_with_a_role(operator, sim, project):
    add = reverse("system:projects-members-add", args=[project])
    assert operator.post(add, {"subject_kind": "Group", "subject": "auditors", "role": "viewer"}).status_code == 302
    bindings = client.RbacAuthorizationV1Api(sim.api("admin")).list_namespaced_role_binding(project).items
    [binding] = [b for b in bindings if b.role_ref.name == "d8:use:role:viewer"
                 and [s.name for s in b.subjects or []] == ["auditors"]]
    assert binding.subjects[0].kind == "Group"
    page = operator.get(reverse("system:detail-tab", args=["multitenancy/projects", project, "members"])).content.decode()
    assert "Group auditors" in page
    operator.post(reverse("system:projects-members-remove", args=[project]), {"binding": binding.metadata.name})
    assert binding.metadata.name not in [b.metadata.name for b in client.RbacAuthorizationV1Api(
        sim.api("admin")).list_namespaced_role_binding(project).items]


def test_it_shows_the_usage_and_what_a_deletion_takes(operator, sim, unique, cleanup):
    name = unique("proj")
    cleanup.append(name)
    operator.post(reverse("system:project-create"), {"name": name, "template": "default"})
    wait_for(lambda: (project_of(sim, name).get("status") or {}).get("state") == "Deployed")
    vm = unique("vm")
    make_vm(sim, name, vm, f"{vm}-root")
    row = operator.get(LIST).content.decode()
    row = row[row.index(f'id="row-{name}"'):]
    assert '<td data-column="VMs">1</td>' in row[:row.index("</tr>")]
    delete = operator.get(reverse("system:delete", args=["multitenancy/projects", name])).content.decode()
    assert f"virtual machines: {vm}" in delete and f"disks: {vm}-root" in delete
