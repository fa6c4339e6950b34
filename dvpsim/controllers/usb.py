"""USB passthrough (DVP EE, feature gate `USB`): NodeUSBDevice, USBDevice and a VM's `status.usbDevices`.

What DVP does (github.com/deckhouse/virtualization, images/virtualization-artifact/pkg/controller/):
- the DRA driver on a node labelled `virtualization.deckhouse.io/usbip=true` publishes the node's devices; the
  resourceslice controller makes a NodeUSBDevice of each (`resourceslice/internal/handler/discovery.go`), named
  `usb-<sha1 of busID-vendorID-productID-node>` (`virtualization-dra/internal/usb/device.go`). Here `plug()` is that
  discovery, `unplug()` the device gone from the host (Ready False NotFound).
- `nodeusbdevice/internal/handler/assigned.go`: `spec.assignedNamespace` set makes a USBDevice of the same name in
  that namespace, owned by the NodeUSBDevice, carrying its attributes; cleared (or changed) removes it. The
  conditions Assigned and Attached (mirrored from the USBDevice's) with DVP's reasons and messages; `deletion.go`:
  an unassigned device gone from the host is deleted.
- `usbdevice/internal/handler/lifecycle.go`: the USBDevice's Ready (from the NodeUSBDevice's) and Attached
  (AttachedToVirtualMachine once a VM reports it attached; Available otherwise).
- `vm/internal/usb_device_attach_handler.go`: a Running VM hot-plugs each ready device of `spec.usbDevices`
  (`status.usbDevices[]` attached, ready, hotplugged, address bus 0); a VM that is not running lists them detached.
USB/IP port capacity (NoFreeUSBIPPort) is not simulated: every node has a free port. While the gate is off the
controllers do nothing; turned on, they reconcile every object once.
"""

import hashlib

from dvpsim import kinds
from dvpsim.controllers.base import Controller, condition, is_deleting, set_condition, status_of

FEATURE_GATE = "USB"
USBIP_LABEL = "virtualization.deckhouse.io/usbip"
NODE_FINALIZER = "virtualization.deckhouse.io/nodeusbdevice-cleanup"
ATTRIBUTE_KEYS = ("bcd", "bus", "deviceNumber", "devicePath", "major", "minor", "manufacturer", "name", "nodeName",
                  "product", "productID", "serial", "speed", "vendorID")


def enabled(cluster) -> bool:
    return FEATURE_GATE in cluster.feature_gates


def device_name(bus_id, vendor_id, product_id, node):
    """DVP's name of a host's USB device (virtualization-dra `Device.GetName`)."""
    return "usb-" + hashlib.sha1(f"{bus_id}-{vendor_id}-{product_id}-{node}".encode()).hexdigest()


class USBError(Exception):
    """Why a device cannot be plugged in (the control endpoint answers 400)."""


def plug(cluster, node, attributes):
    """A device appears on `node`: the NodeUSBDevice discovery makes (or refreshes) it, unassigned and Ready."""
    if not enabled(cluster):
        raise USBError("USB passthrough is off: dvpsim simulates the Community Edition unless started with "
                       "--feature-gate USB (or POST /dvpsim/feature-gates {\"USB\": true})")
    node_obj = cluster.store.get(kinds.get("Node"), None, node)
    if node_obj is None:
        raise USBError(f'node "{node}" not found')
    if (node_obj["metadata"].get("labels") or {}).get(USBIP_LABEL) != "true":
        raise USBError(f"node {node} has no {USBIP_LABEL}=true label: the virtualization-dra pod does not run "
                       "there, so its USB devices are not discovered")
    attrs = {k: v for k, v in attributes.items() if k in ATTRIBUTE_KEYS}
    bus_id = f'{attrs.get("bus", "1")}-{attrs.get("deviceNumber", "1")}'
    name = device_name(bus_id, attrs.get("vendorID", ""), attrs.get("productID", ""), node)
    attrs.update(name=name, nodeName=node)
    kind = kinds.get("NodeUSBDevice")
    obj = cluster.store.get(kind, None, name)
    if obj is None:
        obj = cluster.create(kind, {"metadata": {"name": name}, "spec": {"assignedNamespace": ""}})
    status = status_of(obj)
    status.update(attributes=attrs, nodeName=node)
    set_condition(cluster, status, "Ready", "True", "Ready", "Device is ready to use.",
                  obj["metadata"].get("generation"))
    obj["status"] = status
    obj["metadata"].pop("resourceVersion", None)
    return cluster.update_status(kind, obj)


def unplug(cluster, name):
    """The device is gone from its host: Ready False NotFound (the controller removes its USBDevice)."""
    kind = kinds.get("NodeUSBDevice")
    obj = cluster.store.get(kind, None, name)
    if obj is None:
        return None
    status = status_of(obj)
    set_condition(cluster, status, "Ready", "False", "NotFound", "Device is absent on the host.",
                  obj["metadata"].get("generation"))
    obj["status"] = status
    obj["metadata"].pop("resourceVersion", None)
    return cluster.update_status(kind, obj)


def _status(obj):
    return obj.get("status") or {}


def _absent(status):
    return (condition(status, "Ready") or {}).get("reason") == "NotFound"


def _owned_by(usb, node_device):
    return any(ref.get("kind") == "NodeUSBDevice" and ref.get("uid") == node_device["metadata"]["uid"]
               for ref in usb["metadata"].get("ownerReferences") or [])


class GatedController(Controller):
    """Runs only while the USB feature gate is on (in the Community Edition DVP does not start these controllers)."""

    async def run(self, cluster):
        cluster.__dict__.setdefault("usb_controllers", []).append(self)
        await super().run(cluster)

    def kick(self, namespace, name):
        if enabled(self.cluster):
            super().kick(namespace, name)


def gate_turned_on(cluster):
    """The gate was turned on at run time: the controllers look at every object once, as DVP's do when they start."""
    for controller in getattr(cluster, "usb_controllers", []):
        controller.kick_all()


class NodeUSBDeviceController(GatedController):
    primary = "NodeUSBDevice"
    related = ("USBDevice", "Namespace")

    def on_related(self, event_type, kind, obj):
        if kind.kind == "USBDevice":
            self.kick("", obj["metadata"]["name"])
            return
        for device in self.cluster.store.iter(self.kind):
            if (device.get("spec") or {}).get("assignedNamespace") == obj["metadata"]["name"]:
                self.kick("", device["metadata"]["name"])

    def _usb_devices(self, name):
        return [u for u in self.cluster.store.list(kinds.get("USBDevice")) if u["metadata"]["name"] == name]

    def _delete_usb(self, usb):
        try:
            self.cluster.delete(kinds.get("USBDevice"), usb["metadata"]["namespace"], usb["metadata"]["name"])
        except Exception:  # gone meanwhile
            pass

    async def reconcile(self, _namespace, name):
        obj = self.get(None, name)
        if obj is None:
            return
        finalizers = obj["metadata"].get("finalizers") or []
        if is_deleting(obj):
            for usb in self._usb_devices(name):
                if _owned_by(usb, obj):
                    self._delete_usb(usb)
            obj["metadata"]["finalizers"] = [f for f in finalizers if f != NODE_FINALIZER]
            obj["metadata"].pop("resourceVersion", None)
            self.cluster.update(self.kind, obj)
            return
        if NODE_FINALIZER not in finalizers:
            obj["metadata"]["finalizers"] = finalizers + [NODE_FINALIZER]
            obj["metadata"].pop("resourceVersion", None)
            obj = self.cluster.update(self.kind, obj)
        status, generation = status_of(obj), obj["metadata"].get("generation")
        namespace = (obj.get("spec") or {}).get("assignedNamespace") or ""
        absent = _absent(status)
        for usb in self._usb_devices(name):
            if absent or not namespace or usb["metadata"]["namespace"] != namespace:
                self._delete_usb(usb)
        if absent:
            set_condition(self.cluster, status, "Assigned", "False", "InProgress",
                          "Device is absent on the host, USBDevice is removed.", generation)
        elif not namespace:
            set_condition(self.cluster, status, "Assigned", "False", "Available",
                          "No namespace is assigned for the device.", generation)
        elif self.cluster.store.get(kinds.get("Namespace"), None, namespace) is None:
            set_condition(self.cluster, status, "Assigned", "False", "Available",
                          f"Namespace {namespace} does not exist.", generation)
        else:
            self._ensure_usb_device(obj, namespace)
            set_condition(self.cluster, status, "Assigned", "True", "Assigned",
                          f'The device is assigned to namespace "{namespace}", and the corresponding USBDevice has '
                          "been created.", generation)
        self._set_attached(status, name, namespace, generation)
        status["observedGeneration"] = generation
        if status != _status(obj):
            self.write_status(obj, status)
        if absent and not namespace:
            self.cluster.delete(self.kind, None, name)  # deletion.go: an unassigned device gone from the host

    def _ensure_usb_device(self, obj, namespace):
        kind, name = kinds.get("USBDevice"), obj["metadata"]["name"]
        attrs, node = _status(obj).get("attributes") or {}, _status(obj).get("nodeName", "")
        usb = self.cluster.store.get(kind, namespace, name)
        if usb is None:
            self.cluster.create(kind, {"metadata": {"name": name, "namespace": namespace, "ownerReferences": [{
                "apiVersion": obj["apiVersion"], "kind": "NodeUSBDevice", "name": name,
                "uid": obj["metadata"]["uid"], "controller": True}]},
                "status": {"attributes": attrs, "nodeName": node}})
        elif _status(usb).get("attributes") != attrs or _status(usb).get("nodeName") != node:
            status = status_of(usb)
            status.update(attributes=attrs, nodeName=node)
            self.write_status(usb, status, kind)

    def _set_attached(self, status, name, namespace, generation):
        def attached(value, reason, message):
            set_condition(self.cluster, status, "Attached", value, reason, message, generation)
        if not namespace:
            return attached("False", "Available", "Device is not assigned to any namespace and is not attached to a "
                                                  "virtual machine.")
        usb = self.cluster.store.get(kinds.get("USBDevice"), namespace, name)
        if usb is None:
            return attached("False", "Available", f"Corresponding USBDevice {namespace}/{name} not found.")
        current = condition(_status(usb), "Attached")
        if current is None:
            return attached("False", "Available", f"Waiting for the attachment status of USBDevice {namespace}/{name}.")
        reason = current.get("reason")
        attached(current.get("status", "False"), reason if reason in (
            "AttachedToVirtualMachine", "DetachedForMigration", "NoFreeUSBIPPort") else "Available",
            current.get("message", ""))


def _referencing(cluster, namespace, name):
    return [vm for vm in cluster.store.iter(kinds.get("VirtualMachine"), namespace)
            if any(ref.get("name") == name for ref in (vm.get("spec") or {}).get("usbDevices") or [])]


class USBDeviceController(GatedController):
    primary = "USBDevice"
    related = ("NodeUSBDevice", "VirtualMachine")

    def on_related(self, event_type, kind, obj):
        if kind.kind == "NodeUSBDevice":
            for usb in self.cluster.store.list(self.kind):
                if usb["metadata"]["name"] == obj["metadata"]["name"]:
                    self.kick(usb["metadata"]["namespace"], usb["metadata"]["name"])
            return
        self.kick_all(obj["metadata"]["namespace"])

    async def reconcile(self, namespace, name):
        usb = self.get(namespace, name)
        if usb is None or is_deleting(usb):
            return
        status, generation = status_of(usb), usb["metadata"].get("generation")
        node_device = self.cluster.store.get(kinds.get("NodeUSBDevice"), None, name)
        if node_device is None:
            set_condition(self.cluster, status, "Ready", "False", "NotFound",
                          "The USB device is no longer present on its node.", generation)
        else:
            status.update(attributes=_status(node_device).get("attributes") or {},
                          nodeName=_status(node_device).get("nodeName", ""))
            ready = condition(_status(node_device), "Ready")
            if ready is None:
                set_condition(self.cluster, status, "Ready", "False", "NotReady",
                              "Waiting for the USB device readiness to be determined.", generation)
            else:
                reason = ready.get("reason") if ready.get("reason") in ("Ready", "NotReady", "NotFound") else "NotReady"
                set_condition(self.cluster, status, "Ready", "True" if reason == "Ready" else "False", reason,
                              ready.get("message", ""), generation)
        referencing = _referencing(self.cluster, namespace, name)
        attached = [vm for vm in referencing if any(
            s.get("name") == name and s.get("attached") for s in _status(vm).get("usbDevices") or [])]
        if not referencing:
            set_condition(self.cluster, status, "Attached", "False", "Available",
                          "Device is available for attachment to a virtual machine.", generation)
        elif attached:
            vm = attached[0]["metadata"]
            message = f"Device is attached to VirtualMachine {vm['namespace']}/{vm['name']}." if len(attached) == 1 \
                else f"Device is attached to {len(attached)} VirtualMachines."
            set_condition(self.cluster, status, "Attached", "True", "AttachedToVirtualMachine", message, generation)
        else:
            set_condition(self.cluster, status, "Attached", "False", "Available",
                          "Device is requested by a virtual machine but not attached yet.", generation)
        status["observedGeneration"] = generation
        if status != _status(usb):
            self.write_status(usb, status)


def _ready(usb):
    status = _status(usb)
    attrs = status.get("attributes") or {}
    return bool(attrs.get("vendorID") and attrs.get("productID") and status.get("nodeName")) and \
        (condition(status, "Ready") or {}).get("status") == "True"


class VirtualMachineUSBController(GatedController):
    """Only `status.usbDevices` of the VMs (the VM controller owns the rest of their status)."""
    primary = "VirtualMachine"
    related = ("USBDevice",)

    def on_related(self, event_type, kind, obj):
        for vm in _referencing(self.cluster, obj["metadata"]["namespace"], obj["metadata"]["name"]):
            self.kick(vm["metadata"]["namespace"], vm["metadata"]["name"])

    async def reconcile(self, namespace, name):
        vm = self.get(namespace, name)
        if vm is None:
            return
        status = _status(vm)
        previous = {s.get("name"): s for s in status.get("usbDevices") or []}
        running = status.get("phase") == "Running" and not is_deleting(vm)
        taken = {(p.get("address") or {}).get("port") for p in previous.values() if p.get("attached")}
        wanted = []
        for ref in (vm.get("spec") or {}).get("usbDevices") or []:
            device = ref.get("name", "")
            usb = self.cluster.store.get(kinds.get("USBDevice"), namespace, device)
            if usb is None or not running or is_deleting(usb) or not _ready(usb):
                wanted.append({"name": device, "attached": False, "ready": False})
                continue
            before = previous.get(device) or {}
            port = (before.get("address") or {}).get("port") if before.get("attached") else None
            if port is None:
                port = next(p for p in range(1, 100) if p not in taken)
                taken.add(port)
            wanted.append({"name": device, "attached": True, "ready": True, "hotplugged": True,
                           "address": {"bus": 0, "port": port}})
        if wanted == (status.get("usbDevices") or []):
            return
        fresh = status_of(vm)
        if wanted:
            fresh["usbDevices"] = wanted
        else:
            fresh.pop("usbDevices", None)
        self.write_status(vm, fresh)
