"""The System pages, each declared in its own module (imported here once, by system.urls)."""
from . import cluster_images, nodes, vm_classes  # noqa: F401
