"""Every kind the console shows, one module each: importing this package registers them, in sidebar order."""
from . import images, cluster_images, disks, disk_snapshots, vms, vm_snapshots, vm_ip_addresses  # noqa: F401
from . import services, ingresses  # noqa: F401
from . import usb_devices  # noqa: F401
