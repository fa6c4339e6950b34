"""Steps shared by the tests of the user guide's Images and Disks sections (this package), driven the way the
guide drives them (kubectl for `d8 k`, curl for the upload, the official client for the rest).

The guide's internet image URLs are rewritten to dvpsim's sample images (same file names). Covered
elsewhere over HTTP and not repeated here: checksums and HTTP failures (test_images.py), upload
capability URL, POST, 503 on a concurrent upload and the 10-minute timeout (test_upload.py),
Terminating while in use (test_protection.py), data source freeze of a Ready disk (test_admission.py).
"""

import re
import shutil
import threading
import time

import yaml
from kubernetes import watch

from tests.dvpsim.guide_examples import examples
from tests.kube import GROUP, VERSION, vm_body
from tests.kubectl import kubectl


CURL = shutil.which("curl") or "/usr/bin/curl"
MiB = 1024**2


def guide_yaml(sim, kind, name, ref_kind=None):
    """The guide's own example (Images and Disks sections), with internet URLs pointing at dvpsim's samples."""
    for _line, _verb, text in examples():
        doc = yaml.safe_load(text)
        ref = ((doc.get("spec") or {}).get("dataSource") or {}).get("objectRef") or {}
        if doc.get("kind") == kind and doc["metadata"]["name"] == name and ref.get("kind") == ref_kind:
            return re.sub(r"https://cloud-images\.ubuntu\.com/\S+/([^/\s]+\.img)",
                          rf"{sim.url}/dvpsim/samples/\1", text)
    raise AssertionError(f"no {kind} {name} example in the guide")


def apply(sim, namespace, text):
    return kubectl(sim, "apply", "-n", namespace, "-f", "-", stdin=text).stdout


def table(output):
    """kubectl table output as (header, rows), cut at the header's column starts (empty cells stay empty)."""
    lines = [line for line in output.splitlines() if line.strip()]
    names = re.split(r"\s{2,}", lines[0].strip())
    starts = []
    for name in names:
        starts.append(lines[0].index(name, starts[-1] + 1 if starts else 0))
    bounds = list(zip(starts, starts[1:] + [None]))
    return names, [[line[a:b].strip() for a, b in bounds] for line in lines[1:]]


def get_row(sim, namespace, resource, name, *extra):
    header, rows = table(kubectl(sim, "get", resource, name, "-n", namespace, *extra).stdout)
    return dict(zip(header, rows[0]))


class Watcher:
    """Phases (and other fields) an object goes through, seen by a watch started before the action."""

    def __init__(self, dvp, plural, name):
        self.seen, self._stop = [], False
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(dvp, plural, name), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.seen and time.monotonic() < deadline:  # the watch is open once the object's ADDED arrived
            time.sleep(0.02)
        assert self.seen, f"no watch event for {plural}/{name}"

    def _run(self, dvp, plural, name):
        try:
            for event in self._watch.stream(dvp.custom.list_namespaced_custom_object, GROUP, VERSION,
                                            dvp.namespace, plural, field_selector=f"metadata.name={name}",
                                            timeout_seconds=60):
                self.seen.append(event["object"])
                if self._stop:
                    break
        except Exception:  # the stream cut by stop()
            if not self._stop:
                raise

    def phases(self):
        phases = []
        for obj in self.seen:
            phase = (obj.get("status") or {}).get("phase")
            if phase and (not phases or phases[-1] != phase):
                phases.append(phase)
        return phases

    def stop(self):
        self._stop = True
        self._watch.stop()


def small_vm(name, disk):
    body = vm_body(name, disk=disk)
    body["spec"]["cpu"]["coreFraction"] = "10%"  # the shared cluster's nodes are not endless
    return body
