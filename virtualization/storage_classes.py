"""System → Storage → Storage Classes: the cluster's StorageClasses, for those who may list them."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.kube import Forbidden, KubeError, kinds
from projects.access import can, kube_for

from .generic.create import DEFAULT_SC_ANNOTATION



@login_required
def storage_classes(request):
    context = {"classes": None, "error": None, "storage_page": True}
    if not can(request.user, "list", kinds.STORAGE_CLASS):
        context["error"] = ("You may not see the cluster's storage classes (needs list on "
                            "storageclasses.storage.k8s.io); ask a cluster operator.")
        return render(request, "system/storage_classes.html", context, status=403)
    try:
        items = kube_for(request.user).list(kinds.STORAGE_CLASS)
    except Forbidden as exc:
        context["error"] = exc.message
        return render(request, "system/storage_classes.html", context, status=403)
    except KubeError as exc:
        context["error"] = exc.message
        return render(request, "system/storage_classes.html", context, status=503)
    context["classes"] = [{
        "name": sc["metadata"]["name"],
        "provisioner": sc.get("provisioner", ""),
        "reclaim_policy": sc.get("reclaimPolicy", "Delete"),
        "binding_mode": sc.get("volumeBindingMode", "Immediate"),
        "expansion": bool(sc.get("allowVolumeExpansion")),
        "default": (sc["metadata"].get("annotations") or {}).get(DEFAULT_SC_ANNOTATION) == "true",
    } for sc in sorted(items, key=lambda s: s["metadata"]["name"])]
    return render(request, "system/storage_classes.html", context)
