"""The catalogue of kinds dvpsim serves: one declarative entry per kind.

Printer columns follow the CRDs in their order (see dvp-api-notes §2); core kinds mirror the
columns kube-apiserver prints. A column either has a kubectl-style JSONPath
(`path`) or names a computed cell (`cell`, implemented in dvpsim.tables).
"""

from dataclasses import dataclass

# Groups kube-apiserver serves itself; every other group is a CustomResourceDefinition's.
BUILT_IN_GROUPS = {"", "apps", "authentication.k8s.io", "authorization.k8s.io", "coordination.k8s.io",
                   "events.k8s.io", "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io",
                   "discovery.k8s.io", "policy"}
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
DVP = "virtualization.deckhouse.io"
SUBRESOURCES_GROUP = "subresources.virtualization.deckhouse.io"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    path: str = ""
    priority: int = 0
    description: str = ""
    format: str = ""
    cell: str = ""  # name of a computed cell in dvpsim.tables


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str = ""
    versions: tuple = ("v1",)  # served; the first is the storage version
    namespaced: bool = True
    short_names: tuple = ()
    categories: tuple = ()
    columns: tuple = ()
    subresources: tuple = ()
    verbs: tuple = ALL_VERBS
    singular: str = ""
    deprecated: tuple = ()  # (version, the CRD's deprecationWarning) pairs
    view_of: str = ""  # another API's view of a stored kind (events.k8s.io Event of core Event): its name
    module: str = ""  # the Deckhouse module that serves the kind: served only while its ModuleConfig is enabled

    @property
    def custom(self):
        """Whether a CustomResourceDefinition defines the kind (every group kube-apiserver does not serve itself)."""
        return self.group not in BUILT_IN_GROUPS

    @property
    def tracks_generation(self):
        """Whether metadata.generation is kept: for custom resources, and of the built-in kinds dvpsim serves only
        for Ingress (ConfigMaps, Secrets, Services, ... have none)."""
        return self.custom or self.kind == "Ingress"

    @property
    def stored(self):
        """Whether objects of this kind are kept (reviews are answered, never stored)."""
        return "get" in self.verbs

    @property
    def stored_kind(self):
        """The Kind whose objects are stored (self, or the kind this one is a view of)."""
        return _BY_KIND[self.view_of] if self.view_of else self

    @property
    def storage_version(self):
        return self.versions[0]

    @property
    def api_version(self):
        return f"{self.group}/{self.storage_version}" if self.group else self.storage_version

    def api_version_of(self, version):
        return f"{self.group}/{version}" if self.group else version

    @property
    def singular_name(self):
        return self.singular or self.kind.lower()

    @property
    def has_status(self):
        """Whether the kind has a status subresource (status is then ignored by the main endpoint)."""
        return "status" in self.subresources

    @property
    def resource(self):
        """`plural.group`, the name RBAC messages and errors use."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def __repr__(self):
        return f"<Kind {self.kind}>"


AGE = Column("Age", "date", ".metadata.creationTimestamp",
             description="CreationTimestamp is a timestamp representing the server time when this object was created.")


def _c(name, path, type_="string", priority=0, description=""):
    return Column(name, type_, path, priority, description)


def _created(description, name="Age"):
    return _c(name, ".metadata.creationTimestamp", "date", description=description)


# A CRD's Age column: the CRDs of DVP list it last and, mostly, without a description.
CRD_AGE = _created("")


_IMAGE_COLUMNS = (
    _c("Phase", ".status.phase"),
    _c("CDROM", ".status.cdrom", "boolean"),
    _c("Progress", ".status.progress"),
    _c("StoredSize", ".status.size.stored", priority=1),
    _c("UnpackedSize", ".status.size.unpacked", priority=1),
    _c("Registry URL", ".status.target.registryURL", priority=1),
)

# The module's CRDs: installed when the virtualization module is first enabled and kept when it is disabled
# (Deckhouse never deletes a module's CRDs), so they are served while the module "has its CRDs" (dvpsim.discovery).
VIRTUALIZATION_CRDS = "virtualization/crds"
_DVP = dict(group=DVP, versions=("v1alpha2",), subresources=("status",), categories=("virtualization",),
            module=VIRTUALIZATION_CRDS)
_DVP_CLUSTER = dict(_DVP, namespaced=False, categories=("virtualization-cluster",))

KINDS = [
    # core/v1
    Kind("Namespace", "namespaces", namespaced=False, short_names=("ns",), subresources=("status",),
         columns=(Column("Status", cell="namespace_status"), AGE)),
    Kind("Secret", "secrets", columns=(
        _c("Type", ".type"), Column("Data", "string", cell="data_count"), AGE)),
    Kind("ConfigMap", "configmaps", short_names=("cm",), columns=(
        Column("Data", "string", cell="data_count"), AGE)),
    Kind("Event", "events", short_names=("ev",), columns=(
        Column("Last Seen", "string", cell="event_last_seen"),
        _c("Type", ".type"), _c("Reason", ".reason"),
        Column("Object", "string", cell="event_object"), _c("Message", ".message"))),
    Kind("Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",), columns=(
        Column("Status", cell="node_status"), Column("Roles", cell="node_roles"), AGE,
        _c("Version", ".status.nodeInfo.kubeletVersion"),
        Column("Internal-IP", priority=1, cell="node_internal_ip"),
        _c("OS-Image", ".status.nodeInfo.osImage", priority=1),
        _c("Kernel-Version", ".status.nodeInfo.kernelVersion", priority=1),
        _c("Container-Runtime", ".status.nodeInfo.containerRuntimeVersion", priority=1))),
    # virt-launcher Pods of running VMs (dvpsim.controllers.launchers); `pods/eviction` is how kubectl drain evicts
    Kind("Pod", "pods", short_names=("po",), categories=("all",), subresources=("status", "eviction"), columns=(
        Column("Ready", cell="pod_ready"), _c("Status", ".status.phase"), Column("Restarts", cell="pod_restarts"), AGE,
        _c("IP", ".status.podIP", priority=1), _c("Node", ".spec.nodeName", priority=1),
        _c("Nominated Node", ".status.nominatedNodeName", priority=1),
        Column("Readiness Gates", priority=1, cell="pod_readiness_gates"))),
    Kind("Service", "services", short_names=("svc",), categories=("all",), subresources=("status",), columns=(
        _c("Type", ".spec.type"), _c("Cluster-IP", ".spec.clusterIP"),
        Column("External-IP", cell="service_external_ip"),
        Column("Port(s)", cell="service_ports"), AGE,
        Column("Selector", priority=1, cell="service_selector"))),
    Kind("Endpoints", "endpoints", short_names=("ep",), singular="endpoints", columns=(
        Column("Endpoints", cell="endpoints_addresses"), AGE)),
    Kind("EndpointSlice", "endpointslices", group="discovery.k8s.io", columns=(
        _c("AddressType", ".addressType"), Column("Ports", cell="slice_ports"),
        Column("Endpoints", cell="slice_addresses"), AGE)),
    Kind("ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",), columns=(AGE,)),
    Kind("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), subresources=("status",), columns=(
        _c("Status", ".status.phase"), _c("Volume", ".spec.volumeName"),
        _c("Capacity", ".status.capacity.storage"),
        Column("Access Modes", cell="pvc_access_modes"),
        _c("StorageClass", ".spec.storageClassName"), AGE,
        _c("VolumeMode", ".spec.volumeMode", priority=1))),
    # storage, coordination
    Kind("StorageClass", "storageclasses", group="storage.k8s.io", namespaced=False, short_names=("sc",), columns=(
        _c("Provisioner", ".provisioner"), _c("ReclaimPolicy", ".reclaimPolicy"),
        _c("VolumeBindingMode", ".volumeBindingMode"),
        _c("AllowVolumeExpansion", ".allowVolumeExpansion", "boolean"), AGE)),
    Kind("Lease", "leases", group="coordination.k8s.io", columns=(_c("Holder", ".spec.holderIdentity"), AGE)),
    # networking: how the guide publishes VM services
    Kind("Ingress", "ingresses", group="networking.k8s.io", short_names=("ing",), subresources=("status",), columns=(
        Column("Class", cell="ingress_class"), Column("Hosts", cell="ingress_hosts"),
        Column("Address", cell="ingress_address"), Column("Ports", cell="ingress_ports"), AGE)),
    # rbac
    Kind("Role", "roles", group="rbac.authorization.k8s.io", columns=(
        Column("Created At", "string", ".metadata.creationTimestamp"),)),
    Kind("ClusterRole", "clusterroles", group="rbac.authorization.k8s.io", namespaced=False, columns=(
        Column("Created At", "string", ".metadata.creationTimestamp"),)),
    Kind("RoleBinding", "rolebindings", group="rbac.authorization.k8s.io", columns=(
        Column("Role", cell="binding_role"), AGE,
        Column("Users", priority=1, cell="binding_users"), Column("Groups", priority=1, cell="binding_groups"))),
    Kind("ClusterRoleBinding", "clusterrolebindings", group="rbac.authorization.k8s.io", namespaced=False, columns=(
        Column("Role", cell="binding_role"), AGE,
        Column("Users", priority=1, cell="binding_users"), Column("Groups", priority=1, cell="binding_groups"))),
    # authorization (create only, answered synchronously)
    Kind("SelfSubjectAccessReview", "selfsubjectaccessreviews", group="authorization.k8s.io",
         namespaced=False, verbs=("create",)),
    Kind("SubjectAccessReview", "subjectaccessreviews", group="authorization.k8s.io",
         namespaced=False, verbs=("create",)),
    Kind("SelfSubjectRulesReview", "selfsubjectrulesreviews", group="authorization.k8s.io",
         namespaced=False, verbs=("create",)),
    Kind("SelfSubjectReview", "selfsubjectreviews", group="authentication.k8s.io",
         namespaced=False, verbs=("create",)),
    # deckhouse
    Kind("Project", "projects", group="deckhouse.io", versions=("v1alpha2",), namespaced=False,
         subresources=("status",), columns=(
             _c("State", ".status.state"), _c("Project template", ".spec.projectTemplateName"),
             _c("Description", ".spec.description"), AGE)),
    Kind("ModuleConfig", "moduleconfigs", group="deckhouse.io", versions=("v1alpha1",), namespaced=False,
         short_names=("mc",), subresources=("status",), columns=(
             _c("Enabled", ".spec.enabled", "boolean"), _c("Version", ".spec.version", "number"),
             AGE, _c("Message", ".status.message"))),
    # virtualization.deckhouse.io
    Kind("ClusterVirtualImage", "clustervirtualimages", short_names=("cvi",), **_DVP_CLUSTER,
         columns=(*_IMAGE_COLUMNS, CRD_AGE)),
    Kind("VirtualImage", "virtualimages", short_names=("vi",), **_DVP, columns=(
        *_IMAGE_COLUMNS, _c("TargetPVC", ".status.target.persistentVolumeClaimName", priority=1), CRD_AGE)),
    Kind("VirtualDisk", "virtualdisks", short_names=("vd",), **_DVP, columns=(
        _c("Phase", ".status.phase"), _c("Capacity", ".status.capacity"),
        _c("InUse", ".status.conditions[?(@.type=='InUse')].status", priority=1),
        _c("VirtualMachine", ".status.attachedToVirtualMachines[?(@.mounted==true)].name",
           description="Name of the virtual machine the disk is attached to."),
        _c("Progress", ".status.progress", priority=1),
        _c("StorageClass", ".status.storageClassName", priority=1),
        _c("TargetPVC", ".status.target.persistentVolumeClaimName", priority=1), CRD_AGE)),
    Kind("VirtualDiskSnapshot", "virtualdisksnapshots", short_names=("vdsnapshot", "vds"), **_DVP, columns=(
        _c("Phase", ".status.phase"), _c("Consistent", ".status.consistent", "boolean"), CRD_AGE)),
    Kind("VirtualMachine", "virtualmachines", short_names=("vm",),
         **dict(_DVP, categories=("all", "virtualization")), columns=(
             _c("Phase", ".status.phase", description="Virtual machine phase."),
             _c("Uptime", ".status.stats.lastStartTime", "date",
                description="Time since the virtual machine started running."),
             _c("Cores", ".status.resources.cpu.cores", priority=1,
                description="Real number of the virtual machine cores."),
             _c("CoreFraction", ".status.resources.cpu.coreFraction", priority=1, description="Real core fraction."),
             _c("Memory", ".status.resources.memory.size", priority=1,
                description="The real amount of memory of the virtual machine."),
             _c("Need restart", ".status.conditions[?(@.type=='AwaitingRestartToApplyConfiguration')].status",
                priority=1, description="A restart of the virtual machine is required."),
             _c("Agent", ".status.conditions[?(@.type=='AgentReady')].status", priority=1,
                description="Agent status."),
             _c("Migratable", ".status.conditions[?(@.type=='Migratable')].status", priority=1,
                description="Is it possible to migrate a virtual machine."),
             _c("Node", ".status.nodeName", description="The node where the virtual machine is running."),
             _c("IPAddress", ".status.ipAddress", description="The IP address of the virtual machine."),
             _created("Time of resource creation."))),
    Kind("VirtualMachineClass", "virtualmachineclasses", short_names=("vmc", "vmclass"),
         **dict(_DVP_CLUSTER, versions=("v1alpha2", "v1alpha3")),
         deprecated=(("v1alpha2", "v1alpha2.VirtualMachineClass is deprecated; use v1alpha3.VirtualMachineClass"),),
         columns=(
             _c("Phase", ".status.phase", description="VirtualMachineClass phase."),
             _c("IsDefault",
                ".metadata.annotations.virtualmachineclass\\.virtualization\\.deckhouse\\.io\\/is-default-class",
                description="Default class for virtual machines without specified class."),
             _created("Time of resource creation."))),
    Kind("VirtualMachineOperation", "virtualmachineoperations", short_names=("vmop",), **_DVP, columns=(
        _c("Phase", ".status.phase", description="VirtualMachineOperation phase."),
        _c("Progress", ".status.progress", description="VirtualMachineOperation progress in percent format."),
        _c("Type", ".spec.type", description="VirtualMachineOperation type."),
        _c("VirtualMachine", ".spec.virtualMachineName", description="VirtualMachine name."),
        _created("Time of resource creation."))),
    Kind("VirtualMachineBlockDeviceAttachment", "virtualmachineblockdeviceattachments", short_names=("vmbda",),
         **_DVP, columns=(
             _c("PHASE", ".status.phase", description="VirtualMachineBlockDeviceAttachment phase."),
             _c("BLOCKDEVICE KIND", ".spec.blockDeviceRef.kind", priority=1, description="Attached blockdevice kind."),
             _c("BLOCKDEVICE NAME", ".spec.blockDeviceRef.name", priority=1, description="Attached blockdevice name."),
             _c("VIRTUALMACHINE", ".status.virtualMachineName",
                description="Name of the virtual machine the disk is attached to."),
             _created("Time of resource creation.", "AGE"))),
    Kind("VirtualMachineIPAddress", "virtualmachineipaddresses", short_names=("vmip",), **_DVP, columns=(
        _c("Address", ".status.address"), _c("Status", ".status.phase"),
        _c("VM", ".status.virtualMachineName"), CRD_AGE)),
    Kind("VirtualMachineIPAddressLease", "virtualmachineipaddressleases", short_names=("vmipl", "vmiplease"),
         **_DVP_CLUSTER, columns=(
             _c("VirtualMachineIPAddress", ".spec.virtualMachineIPAddressRef"),
             _c("Status", ".status.phase"), CRD_AGE)),
    Kind("VirtualMachineMACAddress", "virtualmachinemacaddresses", short_names=("vmmac",), **_DVP, columns=(
        _c("Address", ".status.address"), _c("Status", ".status.phase"),
        _c("VM", ".status.virtualMachineName"), CRD_AGE)),
    Kind("VirtualMachineMACAddressLease", "virtualmachinemacaddressleases", short_names=("vmmacl", "vmmaclease"),
         **_DVP_CLUSTER, columns=(
             _c("VirtualMachineMACAddress", ".spec.virtualMachineMACAddressRef"),
             _c("Status", ".status.phase"), CRD_AGE)),
    Kind("VirtualMachineSnapshot", "virtualmachinesnapshots", short_names=("vmsnapshot", "vms"), **_DVP, columns=(
        _c("Phase", ".status.phase", description="VirtualMachineSnapshot phase."),
        _c("Consistent", ".status.consistent", "boolean", description="VirtualMachineSnapshot consistency."),
        _created("VirtualMachineSnapshot age."))),
    Kind("VirtualMachineSnapshotOperation", "virtualmachinesnapshotoperations", short_names=("vmsop",),
         **_DVP, columns=(
             _c("Phase", ".status.phase", description="VirtualMachineSnapshotOperation phase."),
             _c("Type", ".spec.type", description="VirtualMachineSnapshotOperation type."),
             _c("VirtualMachineSnapshot", ".spec.virtualMachineSnapshotName",
                description="VirtualMachineSnapshot name."),
             _created("Time of resource creation."))),
    Kind("USBDevice", "usbdevices", short_names=("usb",), **_DVP, columns=(
        _c("Node", ".status.nodeName"),
        _c("VendorID", ".status.attributes.vendorID", priority=1),
        _c("ProductID", ".status.attributes.productID", priority=1),
        _c("Bus", ".status.attributes.bus", priority=1),
        _c("DeviceNumber", ".status.attributes.deviceNumber", priority=1),
        _c("Manufacturer", ".status.attributes.manufacturer"), _c("Product", ".status.attributes.product"),
        _c("Serial", ".status.attributes.serial", priority=1),
        _c("Attached", '.status.conditions[?(@.type=="Attached")].status'), CRD_AGE)),
    Kind("NodeUSBDevice", "nodeusbdevices", short_names=("nusb",),  # cluster-scoped, yet in the namespaced category
         **dict(_DVP_CLUSTER, categories=("virtualization",)), columns=(
        _c("Node", ".status.nodeName"),
        _c("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        _c("Assigned", '.status.conditions[?(@.type=="Assigned")].status'),
        _c("Attached", '.status.conditions[?(@.type=="Attached")].status'),
        _c("Namespace", ".spec.assignedNamespace"), CRD_AGE)),
]

# network.deckhouse.io: the sdn module's networks that VMs list in spec.networks (dvp-api-notes §4.5). We have no
# CRDs of the sdn module, so dvpsim keeps no schema for them: spec and status are stored as sent (unknown fields
# preserved, nothing required); a minimal controller (dvpsim.controllers.networks) reports them Ready.
SDN = "network.deckhouse.io"
_SDN = dict(group=SDN, versions=("v1alpha1",), subresources=("status",), module="sdn")
_NETWORK_COLUMNS = (_c("Phase", ".status.phase"), _c("Ready", ".status.conditions[?(@.type=='Ready')].status"), CRD_AGE)
KINDS += [
    Kind("Network", "networks", **_SDN, columns=_NETWORK_COLUMNS),
    Kind("ClusterNetwork", "clusternetworks", **dict(_SDN, namespaced=False), columns=_NETWORK_COLUMNS),
]

# storage.deckhouse.io: the storage-volume-data-manager module's DataExport, what `d8 download` creates (user guide,
# "Data export"). No CRD of that module is in our references: as for the sdn networks, dvpsim keeps no schema (spec
# and status stored as sent); the fields follow the d8 CLI (dvpsim.controllers.dataexport). The columns are ours.
KINDS += [
    Kind("DataExport", "dataexports", group="storage.deckhouse.io", versions=("v1alpha1",), subresources=("status",),
         module="storage-volume-data-manager", columns=(
             _c("Ready", ".status.conditions[?(@.type=='Ready')].status"),
             _c("TargetKind", ".spec.targetRef.kind"), _c("TargetName", ".spec.targetRef.name"), _c("TTL", ".spec.ttl"),
             _c("URL", ".status.url", priority=1), CRD_AGE)),
]

# What the console's own manifests (deploy/) create, so `kubectl apply --dry-run=server -k deploy/...` runs against
# dvpsim: the workload kinds kube-apiserver serves itself (stored as sent, no controller runs them) and the
# user-authn module's DexClient and DexAuthenticator (no CRD in our references: no schema kept, as for the sdn's).
KINDS += [
    Kind("Deployment", "deployments", group="apps", short_names=("deploy",), categories=("all",),
         subresources=("status", "scale"), columns=(
             Column("Ready", cell="deployment_ready"), _c("Up-to-date", ".status.updatedReplicas", "integer"),
             _c("Available", ".status.availableReplicas", "integer"), AGE)),
    Kind("PodDisruptionBudget", "poddisruptionbudgets", group="policy", short_names=("pdb",),
         subresources=("status",), columns=(
             _c("Min Available", ".spec.minAvailable"), _c("Max Unavailable", ".spec.maxUnavailable"),
             _c("Allowed Disruptions", ".status.disruptionsAllowed", "integer"), AGE)),
    Kind("NetworkPolicy", "networkpolicies", group="networking.k8s.io", short_names=("netpol",), columns=(
        Column("Pod-Selector", cell="pod_selector"), AGE)),
    Kind("DexClient", "dexclients", group="deckhouse.io", versions=("v1",), subresources=("status",), columns=(
        CRD_AGE,)),
    Kind("DexAuthenticator", "dexauthenticators", group="deckhouse.io", versions=("v1",), subresources=("status",),
         columns=(_c("Domain", ".spec.applicationDomain"), CRD_AGE)),
]

# events.k8s.io/v1 Event: a second view of the stored core/v1 Events, converted as kube-apiserver
# does (dvpsim.conversion); not in KINDS, which lists what is stored.
VIEWS = [
    Kind("Event", "events", group="events.k8s.io", short_names=("ev",), view_of="Event", columns=(
        Column("Last Seen", "string", cell="event_last_seen"),
        _c("Type", ".type"), _c("Reason", ".reason"),
        Column("Object", "string", cell="event_object"), _c("Message", ".note"))),
]

_BY_KIND = {k.kind: k for k in KINDS}
_BY_RESOURCE = {(k.group, k.plural): k for k in KINDS + VIEWS}


def get(name):
    """The Kind named `name` (e.g. "VirtualMachine"); KeyError if unknown."""
    return _BY_KIND[name]


def find(group, plural):
    """The Kind served as `plural` in `group`, or None."""
    return _BY_RESOURCE.get((group, plural))


def for_api_version(api_version, kind_name):
    """The Kind for an object's apiVersion/kind pair, or None."""
    k = _BY_KIND.get(kind_name)
    if k is None:
        return None
    group, _, version = api_version.rpartition("/")
    if group != k.group or version not in k.versions:
        return None
    return k


def is_served(kind, modules=None):
    """Whether `kind` is served with the set of enabled optional modules (None: don't filter)."""
    return modules is None or not kind.module or kind.module in modules


def groups(modules=None):
    """{group: [versions sorted by Kubernetes version priority]} for every served group but the core one."""
    out = {}
    for k in KINDS + VIEWS:
        if k.group and is_served(k, modules):
            out.setdefault(k.group, set()).update(k.versions)
    return {g: sorted(v, key=version_priority, reverse=True) for g, v in out.items()}


def version_priority(version):
    """Sort key ordering GA > beta > alpha, then by number (Kubernetes' version priority)."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (-1, 0, 0, version)
    major, level, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {"alpha": 0, "beta": 1, None: 2}[level]
    return (rank, major, minor, "")


def served_in(group, version, modules=None):
    return [k for k in KINDS + VIEWS if k.group == group and version in k.versions and is_served(k, modules)]


# The aggregated subresources group: discovery only lists it; routes live in dvpsim.server.
SUBRESOURCES_VERSION = "v1alpha2"
SUBRESOURCE_RESOURCES = (
    {"name": "virtualmachines", "singularName": "virtualmachine", "namespaced": True,
     "kind": "VirtualMachine", "verbs": ["get"]},
    {"name": "virtualmachines/console", "singularName": "", "namespaced": True,
     "kind": "VirtualMachineConsole", "verbs": ["get"]},
    {"name": "virtualmachines/vnc", "singularName": "", "namespaced": True,
     "kind": "VirtualMachineVNC", "verbs": ["get"]},
    {"name": "virtualmachines/portforward", "singularName": "", "namespaced": True,
     "kind": "VirtualMachinePortForward", "verbs": ["get"]},
)
