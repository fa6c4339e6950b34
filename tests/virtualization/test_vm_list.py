"""The VM list: label selector and phase filters, pages, the row menu, bulk actions and live updates."""
import asyncio
import re
import uuid

import pytest
from django.urls import reverse

from tests.websockets import connect

from tests.kube import create_dvp, custom, list_dvp


def list_url(project):
    return reverse("virtualization:list", args=[project, "vms"])


def make_stopped_vm(project, sim, name, labels=None, run_policy="AlwaysOff"):
    """A VM that needs no disk to be Stopped: quick and still."""
    create_dvp(sim, "virtualmachines", project, {"metadata": {"name": name, "labels": labels or {}}, "spec": {
        "virtualMachineClassName": "generic", "runPolicy": run_policy, "cpu": {"cores": 1},
        "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": f"{name}-absent"}]}})
    return name


def row_names(page):
    return re.findall(r'<tr id="row-([^"]+)"', page)


@pytest.fixture
def team(project, sim):
    """Three VMs sharing a fresh label: two labelled tier=web, one tier=db."""
    tag = uuid.uuid4().hex[:6]
    names = [make_stopped_vm(project, sim, f"lst-{tag}-{i}", {"team": tag, "tier": tier})
             for i, tier in enumerate(("web", "web", "db"))]
    return tag, names


def test_it_filters_by_label_selector_through_the_api(project, owner, team):
    tag, names = team
    page = owner.get(list_url(project), {"label": f"team={tag},tier=web"}).content.decode()
    assert row_names(page) == names[:2]
    assert f'value="team={tag},tier=web"' in page
    page = owner.get(list_url(project), {"label": f"team={tag},tier!=web"}).content.decode()
    assert row_names(page) == names[2:]


def test_it_explains_a_label_selector_the_api_refuses(project, owner):
    response = owner.get(list_url(project), {"label": "tier in (web"})
    assert response.status_code == 200
    assert "The API does not accept this label selector" in response.content.decode()


def test_it_filters_by_phase(project, owner, sim, team):
    tag, names = team
    running = make_stopped_vm(project, sim, f"lst-{tag}-run", {"team": tag}, run_policy="AlwaysOn")  # Pending: no disk
    page = owner.get(list_url(project), {"label": f"team={tag}", "phase": "Stopped"}).content.decode()
    assert row_names(page) == names
    page = owner.get(list_url(project), {"label": f"team={tag}", "phase": "Pending"}).content.decode()
    assert row_names(page) == [running]
    assert '<option value="Pending" selected>Pending</option>' in page


def test_it_pages_with_limit_and_continue(project, owner, team):
    tag, names = team
    first = owner.get(list_url(project), {"label": f"team={tag}", "limit": "2"}).content.decode()
    assert row_names(first) == names[:2]
    next_href = re.search(r'<a href="\?([^"]+)"[^>]*rel="next"', first).group(1).replace("&amp;", "&")
    assert "continue=" in next_href
    second = owner.get(f"{list_url(project)}?{next_href}").content.decode()
    assert row_names(second) == names[2:]
    assert "« First page" in second and 'rel="next"' not in second
    # The live table of the second page keeps its label, page size and name range.
    live = re.search(r'ws-connect="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert f"label=team%3D{tag}" in live and "limit=2" in live and f"from={names[2]}" in live


def test_it_offers_applicable_operations_per_row_and_says_why_not(project, owner, team):
    tag, names = team
    page = owner.get(list_url(project), {"label": f"team={tag}"}).content.decode()
    row = page[page.index(f'id="row-{names[0]}"'):page.index(f'id="row-{names[1]}"')]
    assert 'title="Start is not possible: the run policy AlwaysOff keeps it off." data-operation="Start"' in row
    assert 'title="Stop is not possible: the run policy AlwaysOff keeps it off." data-operation="Stop"' in row
    assert f'href="/projects/{project}/vms/{names[0]}/delete/" data-operation="Delete"' in row
    assert 'aria-label="Select ' + names[0] + '"' in row


def test_it_confirms_a_bulk_stop_naming_the_vms_then_runs_it(project, owner, sim, unique):
    tag = uuid.uuid4().hex[:6]
    manual = [make_stopped_vm(project, sim, f"blk-{tag}-{i}", run_policy="Manual") for i in range(2)]
    always_off = make_stopped_vm(project, sim, f"blk-{tag}-off")
    bulk = reverse("virtualization:vm-bulk", args=[project])
    page = owner.post(bulk, {"action": "Start", "names": manual + [always_off]}).content.decode()
    assert "Start 2 virtual machines?" in page
    for name in manual:
        assert f'data-target="{name}"' in page
    assert f'data-skipped="{always_off}"' in page and "the run policy AlwaysOff keeps it off" in page
    assert not [o for o in list_dvp(sim, "virtualmachineoperations", project)
                if o["spec"]["virtualMachineName"].startswith(f"blk-{tag}")]  # nothing before the confirmation
    response = owner.post(bulk, {"action": "Start", "names": manual, "confirmed": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == list_url(project)
    ops = [o for o in list_dvp(sim, "virtualmachineoperations", project)
           if o["spec"]["virtualMachineName"].startswith(f"blk-{tag}")]
    assert sorted((o["spec"]["virtualMachineName"], o["spec"]["type"]) for o in ops) == \
        [(name, "Start") for name in manual]


def test_it_bulk_deletes_after_confirmation_and_refuses_a_viewer(project, cast, login, sim, db):
    tag = uuid.uuid4().hex[:6]
    names = [make_stopped_vm(project, sim, f"del-{tag}-{i}") for i in range(2)]
    bulk = reverse("virtualization:vm-bulk", args=[project])
    viewer = login(cast.viewer)
    listing = viewer.get(list_url(project)).content.decode()
    assert 'title="You may not delete virtual machines here (needs delete on virtualmachines)." ' \
        'data-bulk-blocked="Delete"' in listing
    assert 'needs create on virtualmachineoperations)." data-bulk-blocked="Stop"' in listing
    page = viewer.post(bulk, {"action": "Delete", "names": names}).content.decode()
    assert "Delete 0 virtual machines?" in page and "needs delete on virtualmachines" in page
    owner = login(cast.owner)
    assert "Delete 2 virtual machines?" in owner.post(bulk, {"action": "Delete", "names": names}).content.decode()
    owner.post(bulk, {"action": "Delete", "names": names, "confirmed": "1"})
    left = {v["metadata"]["name"]: v for v in list_dvp(sim, "virtualmachines", project)}
    assert all(name not in left or left[name]["metadata"].get("deletionTimestamp") for name in names)


@pytest.mark.django_db(transaction=True)
def test_it_pushes_live_rows_within_the_label_selector(project, cast, sim):
    tag = uuid.uuid4().hex[:6]

    async def scenario():
        communicator, connected = await connect(f"/ws/projects/{project}/live/vms/?label=team%3D{tag}", cast.owner)
        assert connected
        await asyncio.to_thread(make_stopped_vm, project, sim, f"liv-{tag}-in", {"team": tag})
        await asyncio.to_thread(make_stopped_vm, project, sim, f"liv-{tag}-out", {"team": "other"})
        seen = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while f"liv-{tag}-in" not in seen and loop.time() < deadline:
            message = await communicator.receive_output(timeout=10)
            seen += message.get("text") or ""
        await communicator.disconnect()
        return seen

    html = asyncio.run(scenario())
    assert f'id="row-liv-{tag}-in"' in html and 'hx-swap-oob="true"' in html
    assert f"liv-{tag}-out" not in html
    assert 'data-operation="Start"' in html  # the row menu comes with live rows


@pytest.mark.django_db(transaction=True)
def test_it_pushes_an_empty_table_when_the_watch_finds_nothing(project, cast, sim):
    """A page rendered just before its last row was deleted: the socket's watch then opens on nothing and gets no
    event, and still replaces the stale rows (at the watch's first bookmark)."""
    tag = uuid.uuid4().hex[:6]

    async def scenario():
        communicator, connected = await connect(f"/ws/projects/{project}/live/vms/?label=team%3D{tag}", cast.owner)
        assert connected
        message = await communicator.receive_output(timeout=15)
        await communicator.disconnect()
        return message.get("text") or ""

    html = asyncio.run(scenario())
    assert '<tbody id="rows" hx-swap-oob="true">' in html and 'id="row-' not in html
    assert "No virtual machines in this project match the filter." in " ".join(html.split())
    colspan = int(html.split('colspan="', 1)[1].split('"', 1)[0])
    assert colspan > 3  # the select box, the name and the actions, plus the Table's columns


@pytest.mark.django_db(transaction=True)
def test_it_pushes_the_operations_of_a_vm_to_its_page(project, cast, sim):
    vm = make_stopped_vm(project, sim, f"ops-{uuid.uuid4().hex[:6]}")

    async def scenario():
        communicator, connected = await connect(f"/ws/projects/{project}/live/vms/{vm}/", cast.owner)
        assert connected
        first = await communicator.receive_from(timeout=10)
        # The VM itself does not change: only the operation (refused by its run policy) does.
        op = await asyncio.to_thread(
            custom(sim).create_namespaced_custom_object, "virtualization.deckhouse.io", "v1alpha2", project,
            "virtualmachineoperations", {"apiVersion": "virtualization.deckhouse.io/v1alpha2",
                                         "kind": "VirtualMachineOperation", "metadata": {"generateName": f"{vm}-"},
                                         "spec": {"type": "Start", "virtualMachineName": vm}})
        seen = first
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while 'data-phase="Failed"' not in seen and loop.time() < deadline:
            seen += await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return op["metadata"]["name"], first, seen

    name, first, seen = asyncio.run(scenario())
    assert name not in first
    assert f'data-operation-name="{name}"' in seen and 'data-phase="Failed"' in seen


def test_a_vms_name_opens_its_configuration_tab(project, owner, sim, unique):
    """The guide: 'click on its name. You are now on the "Configuration" tab'."""
    vm = make_stopped_vm(project, sim, unique("lnk"))
    page = owner.get(list_url(project)).content.decode()
    configuration = reverse("virtualization:detail-tab", args=[project, "vms", vm, "configuration"])
    assert f'<a href="{configuration}">{vm}</a>' in page
