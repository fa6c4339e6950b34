from django.urls import path, register_converter

from . import meta_edit, spec_edit, views, yaml_edit
from .registry import REGISTRY, Resource
from .resources import cluster_images, disk_snapshots, disks, images, vms  # noqa: F401  (registers the kinds)
from .resources import vm_config, vm_consoles, vm_disks, vm_network, vm_operations, vm_placement
from .resources import vm_snapshots


class ResourceConverter:
    """`<resource:resource>` matches a registered slug and hands the view its Resource."""

    regex = "|".join(REGISTRY) or "-"

    def to_python(self, value):
        return REGISTRY[value]

    def to_url(self, value):
        return value.slug if isinstance(value, Resource) else str(value)


register_converter(ResourceConverter, "resource")

app_name = "virtualization"
# Names of Kubernetes objects cannot contain "_", so "_new" never shadows an object.
urlpatterns = [
    *[path(f"images/_new/{source}/", images.create_view_for(source), name=f"image-create-{source}")
      for source in images.SOURCES],
    *[path(f"cluster-images/_new/{source}/", cluster_images.create_view_for(source),
           name=f"cluster-image-create-{source}") for source in cluster_images.SOURCES],
    path("disks/_new/", disks.create, name="disk-create"),
    path("disk-snapshots/_new/", disk_snapshots.create, name="disk-snapshot-create"),
    path("disks/<str:name>/resize/", disks.resize, name="disk-resize"),
    path("disks/<str:name>/storage-class/", disks.change_storage_class, name="disk-storage-class"),
    path("vms/_new/", vms.create, name="vm-create"),
    path("vms/_new/boot-disk/", vms.boot_disk, name="vm-boot-disk"),
    path("vms/_bulk/", vm_operations.bulk, name="vm-bulk"),
    path("vms/<str:name>/operations/", vm_operations.operation, name="vm-operation"),
    path("vms/<str:name>/operations/<str:operation_name>/cancel/", vm_operations.cancel_migration,
         name="vm-cancel-migration"),
    path("vms/<str:name>/tty/", vms.tty, name="vm-tty"),
    path("vms/<str:name>/sessions/<str:tab>/", vm_consoles.holder, name="vm-console-holder"),
    path("vms/<str:name>/window/<str:tab>/", vm_consoles.window, name="vm-console-window"),
    path("vms/<str:name>/configuration/", vm_config.configuration, name="vm-configuration"),
    path("vms/<str:name>/configuration/changes/", vm_config.changes, name="vm-config-changes"),
    path("vms/<str:name>/disks/", vm_disks.disks, name="vm-disks"),
    path("vms/<str:name>/placement/", vm_placement.placement, name="vm-placement"),
    path("vms/<str:name>/network/", vm_network.network, name="vm-network"),
    path("vms/<str:name>/snapshots/_new/", vm_snapshots.create, name="vm-snapshot-create"),
    path("vms/<str:name>/snapshots/<str:snapshot_name>/restore/", vm_snapshots.restore, name="vm-snapshot-restore"),
    path("vms/<str:name>/snapshots/<str:snapshot_name>/create-vm/", vm_snapshots.create_vm,
         name="vm-snapshot-create-vm"),
    path("vms/<str:name>/snapshots/<str:snapshot_name>/delete/", vm_snapshots.delete, name="vm-snapshot-delete"),
    path("<resource:resource>/", views.resource_list, name="list"),
    path("<resource:resource>/<str:name>/", views.resource_detail, name="detail"),
    path("<resource:resource>/<str:name>/status/", views.resource_status, name="status"),
    path("<resource:resource>/<str:name>/delete/", views.resource_delete, name="delete"),
    path("<resource:resource>/<str:name>/yaml/edit/", yaml_edit.edit, name="yaml-edit"),
    path("<resource:resource>/<str:name>/meta/save/", meta_edit.save, name="meta"),
    path("<resource:resource>/<str:name>/spec/", spec_edit.edit_spec, name="spec"),
    path("<resource:resource>/<str:name>/<str:tab>/", views.resource_detail, name="detail-tab"),
]
