from django.shortcuts import render

from portal.kube import kinds

from .access import can, get_project, kube_for, visible_projects


def project_list(request):
    return render(request, "projects/list.html", {"projects": visible_projects(request.user)})


def project_detail(request, project):
    project = get_project(request.user, project)
    kube = kube_for(request.user)
    counts = {}
    for label, kind in (("Disk Images", kinds.IMAGE), ("VM Disks", kinds.DISK), ("Virtual Machines", kinds.VM)):
        counts[label] = len(kube.list(kind, project.name)) if can(request.user, "list", kind, project.name) else None
    return render(request, "projects/detail.html", {"project": project, "counts": counts})
