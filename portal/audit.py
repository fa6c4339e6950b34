"""The audit trail: one structured line per change a user makes through the console.

A line is a record of the logger "dvp.audit" whose `audit` attribute holds the fields; with
DVP_LOG_FORMAT=json it is one JSON object:
  {"logger": "dvp.audit", "request_id": ..., "audit": {"user", "groups", "verb", "kind", "project",
   "name", "result", "status", ...}}
Verbs: create, update, patch, delete, operation (a VirtualMachineOperation or a subresource call),
console-open, console-close, upload. Result: "success" or "failure" (with the API's status).
API changes are recorded in one place (portal.kube.observe); consoles and uploads call record().
"""
import logging

from portal.logs import current_request_id

log = logging.getLogger("dvp.audit")


def record(verb, *, user, groups=(), kind, project, name, result, **details):
    entry = {"user": user, "groups": list(groups), "verb": verb, "kind": kind, "project": project or "",
             "name": name or "", "result": result, "request_id": current_request_id(), **details}
    where = f"{project}/{name}" if project else name
    log.info("%s %s %s %s: %s", user, verb, kind, where, result, extra={"audit": entry})
    return entry
