"""The API kinds the console uses: where each lives on the API server."""
from dataclasses import dataclass

DVP = "virtualization.deckhouse.io"
SUBRESOURCES = "subresources.virtualization.deckhouse.io"


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace=None):
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name, namespace=None):
        return f"{self.collection_path(namespace)}/{name}"


_ALL = [
    Kind("Namespace", "", "v1", "namespaces", namespaced=False),
    Kind("Event", "", "v1", "events"),
    Kind("Secret", "", "v1", "secrets"),
    Kind("Node", "", "v1", "nodes", namespaced=False),
    # how the guide publishes a VM's services: Services select VMs by label, Ingresses route HTTP to Services
    Kind("Service", "", "v1", "services"),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses"),
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", namespaced=False),
    Kind("Project", "deckhouse.io", "v1alpha2", "projects", namespaced=False),
    Kind("VirtualImage", DVP, "v1alpha2", "virtualimages"),
    Kind("ClusterVirtualImage", DVP, "v1alpha2", "clustervirtualimages", namespaced=False),
    Kind("VirtualDisk", DVP, "v1alpha2", "virtualdisks"),
    Kind("VirtualDiskSnapshot", DVP, "v1alpha2", "virtualdisksnapshots"),
    Kind("VirtualMachine", DVP, "v1alpha2", "virtualmachines"),
    Kind("VirtualMachineClass", DVP, "v1alpha3", "virtualmachineclasses", namespaced=False),
    Kind("VirtualMachineOperation", DVP, "v1alpha2", "virtualmachineoperations"),
    Kind("VirtualMachineSnapshot", DVP, "v1alpha2", "virtualmachinesnapshots"),
    Kind("VirtualMachineSnapshotOperation", DVP, "v1alpha2", "virtualmachinesnapshotoperations"),
    Kind("VirtualMachineIPAddress", DVP, "v1alpha2", "virtualmachineipaddresses"),
    Kind("VirtualMachineBlockDeviceAttachment", DVP, "v1alpha2", "virtualmachineblockdeviceattachments"),
    # USB passthrough (EE): a node's device, assigned to a project by an operator, appears there as a USBDevice
    Kind("NodeUSBDevice", DVP, "v1alpha2", "nodeusbdevices", namespaced=False),
    Kind("USBDevice", DVP, "v1alpha2", "usbdevices"),
    # the sdn module's networks, served only while it is enabled
    Kind("Network", "network.deckhouse.io", "v1alpha1", "networks"),
    Kind("ClusterNetwork", "network.deckhouse.io", "v1alpha1", "clusternetworks", namespaced=False),
    # the storage-volume-data-manager module's export of a volume's data (what `d8 download` creates)
    Kind("DataExport", "storage.deckhouse.io", "v1alpha1", "dataexports"),
]
KINDS = {k.kind: k for k in _ALL}

NAMESPACE = KINDS["Namespace"]
EVENT = KINDS["Event"]
SECRET = KINDS["Secret"]
NODE = KINDS["Node"]
SERVICE = KINDS["Service"]
ENDPOINT_SLICE = KINDS["EndpointSlice"]
INGRESS = KINDS["Ingress"]
STORAGE_CLASS = KINDS["StorageClass"]
PROJECT = KINDS["Project"]
IMAGE = KINDS["VirtualImage"]
CLUSTER_IMAGE = KINDS["ClusterVirtualImage"]
DISK = KINDS["VirtualDisk"]
DISK_SNAPSHOT = KINDS["VirtualDiskSnapshot"]
VM = KINDS["VirtualMachine"]
VM_CLASS = KINDS["VirtualMachineClass"]
VMOP = KINDS["VirtualMachineOperation"]
VM_SNAPSHOT = KINDS["VirtualMachineSnapshot"]
VMSOP = KINDS["VirtualMachineSnapshotOperation"]
VMIP = KINDS["VirtualMachineIPAddress"]
VMBDA = KINDS["VirtualMachineBlockDeviceAttachment"]
NODE_USB_DEVICE = KINDS["NodeUSBDevice"]
USB_DEVICE = KINDS["USBDevice"]
NETWORK = KINDS["Network"]
CLUSTER_NETWORK = KINDS["ClusterNetwork"]
DATA_EXPORT = KINDS["DataExport"]


def get(kind):
    return KINDS[kind]
