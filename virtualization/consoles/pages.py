"""The VM's consoles in pages: TTY (serial) and VNC tabs, their pop-out windows, and who holds them.

The sockets themselves are relayed by relay.py; these views only render the
pages and ask the API, as the user, who holds a console before the page connects.
"""
from datetime import datetime

from asgiref.sync import async_to_sync
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from portal.auth.identity import identity_of
from portal.htmx import ws_path
from portal.kube import kinds, streams
from projects.access import can_console, get_project, kube_for

from .relay import RUNNING_PHASES, client_label

STREAMS = {"tty": "console", "vnc": "vnc"}


def console_context(user, project, name, tab, phase):
    """What the TTY or VNC partial needs: the socket, the holder probe and the pop-out URLs."""
    stream = STREAMS[tab]
    return {
        "console_tab": tab,
        "console_stream": stream,
        "console_ready": phase in RUNNING_PHASES,
        "can_open": can_console(user, project.name, name, stream),
        "console_ws": ws_path(stream, project=project.name, name=name),
        "holder_url": reverse("virtualization:vm-console-holder", args=[project.name, name, tab]),
        "window_url": reverse("virtualization:vm-console-window", args=[project.name, name, tab]),
    }


def tab_context(tab):
    """The context function of the VM's TTY or VNC tab."""
    def context(user, project, obj, state):
        phase = (obj.get("status") or {}).get("phase", "")
        return console_context(user, project, obj["metadata"]["name"], tab, phase)
    return context


@require_GET
def holder(request, project, name, tab):
    """Who holds the VM's console or VNC now, probed as the user: {} when free, "unknown" on any error."""
    if tab not in STREAMS:
        raise Http404("No such console")
    project = get_project(request.user, project)
    answer = async_to_sync(streams.probe_console)(identity_of(request.user), project.name, name, STREAMS[tab])
    if answer is None:
        return JsonResponse({"unknown": True})
    if not answer.get("holder"):
        return JsonResponse({})
    return JsonResponse({
        "holder": answer["holder"],
        "self": answer["holder"] == request.user.get_username(),
        "since": _since(answer.get("startTime")),
        "startTime": answer.get("startTime", ""),
        "client": client_label(answer.get("client")),
    })


@require_GET
def window(request, project, name, tab):
    """The TTY or VNC alone in a full window (its own URL, for a second screen)."""
    if tab not in STREAMS:
        raise Http404("No such console")
    project = get_project(request.user, project)
    obj = kube_for(request.user).get(kinds.VM, name, project.name)  # API errors become pages (KubeErrorMiddleware)
    phase = (obj.get("status") or {}).get("phase", "")
    context = {"project": project, "name": name, "phase": phase, "popout": True,
               **console_context(request.user, project, name, tab, phase)}
    return render(request, "virtualization/vms/console_window.html", context)


def _since(timestamp):
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (AttributeError, ValueError):
        return ""
