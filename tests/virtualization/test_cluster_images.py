"""Cluster Images for project users (read-only) and operators (create, delete); Storage Classes for operators."""
import time

from django.urls import reverse

from tests.kube import custom, sample_url, GROUP, VERSION


def get_cvi(sim, name):
    from kubernetes.client.exceptions import ApiException
    try:
        return custom(sim).get_cluster_custom_object(GROUP, VERSION, "clustervirtualimages", name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_a_project_user_sees_cluster_images_but_may_not_create_or_delete_them(project, owner, sim):
    listing = owner.get(reverse("virtualization:list", args=[project, "cluster-images"]))
    page = listing.content.decode()
    assert listing.status_code == 200
    assert ">Cluster Images</a>" in page  # in the project navigation
    assert "needs create on clustervirtualimages" in page
    assert "Delete</a>" not in page
    refused = owner.post(reverse("virtualization:cluster-image-create-http", args=[project]),
                         {"name": "alice-cvi", "url": sample_url(sim)})
    assert refused.status_code == 422
    assert "forbidden" in refused.content.decode().lower()
    assert get_cvi(sim, "alice-cvi") is None


def test_an_operator_creates_and_deletes_a_cluster_image(project, cast, login, sim, unique, db):
    operator = login(cast.operator)
    name = unique("cvi")
    response = operator.post(reverse("virtualization:cluster-image-create-http", args=[project]),
                             {"name": name, "url": sample_url(sim)})
    assert response.status_code == 302
    assert response["Location"] == reverse("virtualization:detail", args=[project, "cluster-images", name])
    cvi = get_cvi(sim, name)
    assert cvi["spec"] == {"dataSource": {"type": "HTTP", "http": {"url": sample_url(sim)}}}
    page = operator.get(response["Location"]).content.decode()
    assert name in page
    listing = operator.get(reverse("virtualization:list", args=[project, "cluster-images"])).content.decode()
    assert f'aria-label="Delete {name}"' in listing
    assert operator.post(reverse("virtualization:delete", args=[project, "cluster-images", name])).status_code == 302
    for _ in range(50):
        if get_cvi(sim, name) is None:
            break
        time.sleep(0.1)
    assert get_cvi(sim, name) is None


def test_the_storage_classes_page_shows_the_operator_every_class(cast, login, sim, db):
    page = login(cast.operator).get(reverse("storage-classes")).content.decode()
    assert "i-sds-replicated-thin-r1 <strong class=\"badge\"" in page
    assert "replicated.csi.storage.deckhouse.io" in page
    assert "WaitForFirstConsumer" in page
    assert "Delete" in page and "yes" in page


def test_a_project_user_finds_the_storage_classes_under_the_system_tab(project, owner, cast, login, db):
    """The user guide's "Go to the "System" tab, then to the "Storage" section → "Storage Classes"": a user
    without any operator's page still has the System tab, which opens the one System page they may see."""
    projects_page = owner.get(reverse("projects:list")).content.decode()
    assert f'<a href="{reverse("storage-classes")}">System</a>' in projects_page
    assert f'href="{reverse("system:home")}"' not in projects_page
    page = owner.get(reverse("storage-classes")).content.decode()
    assert 'aria-label="System navigation"' in page
    assert '<p class="muted section-label">Storage</p>' in page
    assert f'<a href="{reverse("storage-classes")}" aria-current="page">Storage Classes</a>' in page
    assert "i-sds-replicated-thin-r2" in page
    assert f'<a href="{reverse("system:home")}">System</a>' in login(cast.operator).get(
        reverse("projects:list")).content.decode()


def test_the_storage_classes_page_tells_a_user_without_the_right_why(cast, login, settings, db):
    """On a cluster where storage classes are not readable by everyone (no catalogue binding)."""
    from kubernetes import client

    from portal.kube import config as kube_config
    from tests.conftest import start_sim, stop_sim

    sim = start_sim(speed=20)
    try:
        client.RbacAuthorizationV1Api(sim.api()).delete_cluster_role_binding("d8:use:cluster-read")
        settings.DVP_KUBECONFIG, settings.DVP_KUBE_CONTEXT = str(sim.kubeconfig), "dvp-console"
        kube_config.reset()
        response = login(cast.owner).get(reverse("storage-classes"))
        page = response.content.decode()
        assert response.status_code == 403
        assert "needs list on storageclasses.storage.k8s.io" in page
        assert "i-sds-replicated-thin-r1" not in page
        assert ">System</a>" not in page and "section-label\">Storage<" not in page
        assert "i-sds-replicated-thin-r1" in login(cast.operator).get(reverse("storage-classes")).content.decode()
    finally:
        stop_sim(sim)
        kube_config.reset()
