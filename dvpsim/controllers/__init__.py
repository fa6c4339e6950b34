"""The controllers of the simulated cluster; the cluster starts one instance of each."""

from dvpsim.controllers.attachments import VirtualMachineBlockDeviceAttachmentController
from dvpsim.controllers.dataexport import DataExportController
from dvpsim.controllers.disks import VirtualDiskController
from dvpsim.controllers.firmware import WorkloadUpdaterController
from dvpsim.controllers.images import ClusterVirtualImageController, VirtualImageController
from dvpsim.controllers.ingresses import IngressController
from dvpsim.controllers.launchers import LauncherPodController
from dvpsim.controllers.load_balancers import LoadBalancerController
from dvpsim.controllers.macs import VirtualMachineMACAddressController
from dvpsim.controllers.module_config import ModuleConfigController
from dvpsim.controllers.networks import ClusterNetworkController, NetworkController
from dvpsim.controllers.operations import VirtualMachineOperationController
from dvpsim.controllers.projects import ProjectController
from dvpsim.controllers.restore import VirtualMachineSnapshotOperationController
from dvpsim.controllers.services import ServiceEndpointsController
from dvpsim.controllers.snapshots import VirtualDiskSnapshotController
from dvpsim.controllers.usb import NodeUSBDeviceController, USBDeviceController, VirtualMachineUSBController
from dvpsim.controllers.vmclasses import VirtualMachineClassController
from dvpsim.controllers.vm_snapshots import VirtualMachineSnapshotController
from dvpsim.controllers.vmip import VirtualMachineIPAddressController, VirtualMachineIPAddressLeaseController
from dvpsim.controllers.vms import VirtualMachineController

CONTROLLERS = [
    ProjectController,
    ModuleConfigController,
    VirtualImageController,
    ClusterVirtualImageController,
    VirtualDiskController,
    VirtualDiskSnapshotController,
    VirtualMachineIPAddressController,
    VirtualMachineIPAddressLeaseController,
    VirtualMachineMACAddressController,
    VirtualMachineClassController,
    VirtualMachineController,
    VirtualMachineOperationController,
    LauncherPodController,
    WorkloadUpdaterController,
    VirtualMachineBlockDeviceAttachmentController,
    VirtualMachineSnapshotController,
    VirtualMachineSnapshotOperationController,
    ServiceEndpointsController,
    LoadBalancerController,
    IngressController,
    NetworkController,
    ClusterNetworkController,
    DataExportController,
    NodeUSBDeviceController,
    USBDeviceController,
    VirtualMachineUSBController,
]
