"""The System pages, each declared in its own module (imported here once, by system.urls)."""
from . import all_vms, cluster_images, migrations, modules, nodes, projects, usb_devices, vm_classes  # noqa: F401
