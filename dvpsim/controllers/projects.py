"""Deckhouse Project: creates the namespace of the same name and reports Deployed."""

from dvpsim import kinds
from dvpsim.controllers.base import Controller, status_of
from dvpsim.errors import AlreadyExists, NotFound


class ProjectController(Controller):
    primary = "Project"

    def on_primary(self, event_type, obj):
        if event_type == "DELETED":
            try:
                self.cluster.delete(kinds.get("Namespace"), None, obj["metadata"]["name"])
            except NotFound:
                pass
            return
        super().on_primary(event_type, obj)

    async def reconcile(self, namespace, name):
        project = self.get(None, name)
        if project is None or project["metadata"].get("deletionTimestamp"):
            return
        ns_kind = kinds.get("Namespace")
        status = status_of(project)
        if self.get(None, name, ns_kind) is None:
            status["state"] = "Deploying"
            self.write_status(project, status)
            await self.sleep(0.5)
            try:
                self.cluster.create(ns_kind, {"metadata": {"name": name, "labels": {
                    "projects.deckhouse.io/project": name,
                    "projects.deckhouse.io/project-template": project.get("spec", {}).get("projectTemplateName", "default"),
                }}})
            except AlreadyExists:
                pass
            self.event(project, "Deployed", f"Namespace {name} is created")
        status.update({"state": "Deployed", "namespaces": [name],
                       "observedGeneration": project["metadata"].get("generation", 1)})
        status["conditions"] = [{"type": "Deployed", "status": "True", "message": "",
                                 "lastTransitionTime": (project.get("status") or {}).get("conditions", [{}])[0].get(
                                     "lastTransitionTime") or self.cluster.clock.timestamp()}]
        self.write_status(project, status)
