"""portal.kube: the only package of the console that imports `kubernetes`."""
from . import kinds, quantity
from .client import Kube
from .identity import Identity
from .errors import (AlreadyExists, Conflict, Forbidden, Invalid, KubeError, ModuleDisabled, NotFound, Unauthorized,
                     Unavailable)

__all__ = ["Kube", "Identity", "kinds", "quantity", "KubeError", "NotFound", "AlreadyExists", "Conflict", "Forbidden",
           "Invalid", "ModuleDisabled", "Unauthorized", "Unavailable"]
