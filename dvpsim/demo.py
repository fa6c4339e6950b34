"""Demo data for `python -m dvpsim --demo`: nodes, storage, the generic VM class, projects, users,
cluster images from the sample server and one running VM, as on a fresh DVP installation."""

from dvpsim import kinds
from dvpsim.controllers import usb

NODES = ("virtlab-pt-1", "virtlab-pt-2", "virtlab-pt-3")
ZONES = ("zone-a", "zone-b", "zone-c")
KUBELET_VERSION = "v1.31.9"
VM_CIDRS = ["10.66.10.0/24", "10.66.20.0/24", "10.66.30.0/24"]

# user -> (namespace or None for cluster-wide, ClusterRole)
USERS = {
    "operator": (None, "cluster-admin"),
    "alice": ("project-a", "d8:use:role:manager"),
    "victor": ("project-a", "d8:use:role:viewer"),
    "bob": ("project-b", "d8:use:role:manager"),
}
# group -> (namespace, ClusterRole): on a real DVP cluster most rights come through groups (from Dex).
GROUP_BINDINGS = {"project-a-team": ("project-a", "d8:use:role:manager")}
# user -> groups; greta's only right to project-a is her group's (employees has no binding at all).
USER_GROUPS = {"greta": ("project-a-team", "employees")}

GUIDE_USER_DATA = """#cloud-config
ssh_pwauth: True
users:
  - name: cloud
    passwd: "$6$rounds=4096$saltsalt$fPmUsbjAuA7mnQNTajQM6ClhesyG0.yyQhvahas02ejfMAq1ykBo1RquzS0R6GgdIDlvS.kbUwDablGZKZcTP/"
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    lock_passwd: False
"""


def seed(cluster):
    for index, name in enumerate(NODES):
        _create(cluster, "Node", node(name, ZONES[index]))
    for sc in storage_classes():
        _create(cluster, "StorageClass", sc)
    _create(cluster, "VirtualMachineClass", generic_class(cluster.clock.timestamp()))
    _create(cluster, "ModuleConfig", module_config())
    # The sdn module, for the guide's additional networks: the project network user-net and the cluster network corp-net.
    _create(cluster, "ModuleConfig", {"metadata": {"name": "sdn"}, "spec": {"enabled": True, "version": 1}})
    # The admin guide's VM rebalancing module: configurable, off (dvpsim does not rebalance).
    _create(cluster, "ModuleConfig", {"metadata": {"name": "descheduler"}, "spec": {"enabled": False, "version": 1}})
    # The other modules the admin guide names: the audit's log-shipper and runtime-audit-engine (off until the guide's
    # "Audit" steps enable them), control-plane-manager (its apiserver.auditPolicyEnabled) and node-manager (fencing).
    for module, enabled in (("log-shipper", False), ("runtime-audit-engine", False), ("control-plane-manager", True),
                            ("node-manager", True)):
        _create(cluster, "ModuleConfig", {"metadata": {"name": module}, "spec": {"enabled": enabled, "version": 1}})
    _create(cluster, "ClusterNetwork", {"metadata": {"name": "corp-net"}, "spec": {}})
    # The storage-volume-data-manager module, behind `d8 download` (the guide's "Data export": DataExport objects).
    _create(cluster, "ModuleConfig", {"metadata": {"name": "storage-volume-data-manager"},
                                      "spec": {"enabled": True, "version": 1}})
    # The guide's ways to publish a VM's service: metallb gives LoadBalancer Services an address of its pool,
    # ingress-nginx (class nginx) serves Ingresses on the nodes' addresses.
    pool = {"name": "frontend-pool", "protocol": "layer2", "addresses": ["192.168.10.200-192.168.10.239"]}
    _create(cluster, "ModuleConfig", {"metadata": {"name": "metallb"},
                                      "spec": {"enabled": True, "version": 1, "settings": {"addressPools": [pool]}}})
    _create(cluster, "ModuleConfig", {"metadata": {"name": "ingress-nginx"}, "spec": {"enabled": True, "version": 1}})
    for project in ("project-a", "project-b"):
        _create(cluster, "Namespace", {"metadata": {"name": project, "labels": {
            "projects.deckhouse.io/project": project, "projects.deckhouse.io/project-template": "default"}}})
        _create(cluster, "Project", {"metadata": {"name": project},
                                     "spec": {"description": f"Demo project {project[-1].upper()}",
                                              "projectTemplateName": "default", "parameters": {}}})
    _create(cluster, "Network", {"metadata": {"name": "user-net", "namespace": "project-a"}, "spec": {}})
    for user, (namespace, role) in USERS.items():
        cluster.add_user(user, USER_GROUPS.get(user, ()))
        _bind(cluster, user, namespace, role)
    for group, (namespace, role) in GROUP_BINDINGS.items():
        _bind(cluster, group, namespace, role, kind="Group")
    for user, groups in USER_GROUPS.items():
        if user not in USERS:
            cluster.add_user(user, groups)
    for image in cluster_images(cluster.url):
        _create(cluster, "ClusterVirtualImage", image)
    for kind_name, obj in demo_vm("project-a"):
        _create(cluster, kind_name, obj)


def oidc_accounts(issuer):
    """The demo users at the cluster's Dex (dvpsim.oidc), with their groups; passwords as the console's."""
    from dvpsim.oidc import demo_password
    for user in (*USERS, *USER_GROUPS):
        issuer.add(user, demo_password(user), USER_GROUPS.get(user, ()))


# What the virtualization module's node labeller reports of each node's CPU (the admin guide's `cpu-model.node.…`
# labels; `cpu-feature.node.…` for instruction sets). The first node is a newer CPU than the other two.
CPU_MODEL_LABEL, CPU_FEATURE_LABEL = "cpu-model.node.virtualization.deckhouse.io/", \
    "cpu-feature.node.virtualization.deckhouse.io/"
CPU_MODELS = ("Nehalem", "Nehalem-IBRS", "Westmere", "SandyBridge", "IvyBridge", "Haswell-noTSX",
              "Broadwell-noTSX", "Skylake-Client-noTSX-IBRS")
CPU_FEATURES = ("sse4_2", "avx", "avx2", "aes", "x2apic", "hypervisor", "vmx", "pdpe1gb")
NEWER_CPU = {"models": ("Cascadelake-Server-noTSX", "Icelake-Server-noTSX"), "features": ("avx512f", "avx512bw")}


def cpu_labels(index):
    models = CPU_MODELS + (NEWER_CPU["models"] if index == 0 else ())
    features = CPU_FEATURES + (NEWER_CPU["features"] if index == 0 else ())
    return {**{CPU_MODEL_LABEL + m: "true" for m in models}, **{CPU_FEATURE_LABEL + f: "true" for f in features}}


# The node whose kernel has the usbip modules (the admin guide's "USB devices": the module labels it), and the USB
# devices plugged into it, as the DRA driver reports them (dvpsim.controllers.usb).
USB_NODE = "virtlab-pt-2"
USB_DEVICES = (
    {"vendorID": "0951", "productID": "1666", "manufacturer": "Kingston", "product": "DataTraveler 3.0",
     "serial": "E0D55EA574A5F4A0B9A2C3F1", "bus": "3", "deviceNumber": "2", "speed": 5000, "bcd": "0110",
     "devicePath": "/dev/bus/usb/003/002", "major": 189, "minor": 257},
    {"vendorID": "1050", "productID": "0407", "manufacturer": "Yubico", "product": "YubiKey OTP+FIDO+CCID",
     "serial": "", "bus": "1", "deviceNumber": "4", "speed": 12, "bcd": "0543",
     "devicePath": "/dev/bus/usb/001/004", "major": 189, "minor": 3},
    {"vendorID": "2341", "productID": "0043", "manufacturer": "Arduino (www.arduino.cc)", "product": "Uno R3",
     "serial": "75830303934351A0E1C1", "bus": "1", "deviceNumber": "7", "speed": 12, "bcd": "0001",
     "devicePath": "/dev/bus/usb/001/007", "major": 189, "minor": 6},
)


def usb_devices(cluster):
    """With the EE's USB passthrough on (--feature-gate USB), the devices the DRA driver finds on the usbip node: at
    every start, so that a demo kept in --state gets them once the gate is turned on (plugging is idempotent)."""
    if not usb.enabled(cluster):
        return
    kind = kinds.get("Node")
    node_obj = cluster.store.get(kind, None, USB_NODE)
    if node_obj is None:
        return
    if (node_obj["metadata"].get("labels") or {}).get(usb.USBIP_LABEL) != "true":  # a state saved before the label
        node_obj["metadata"].setdefault("labels", {})[usb.USBIP_LABEL] = "true"
        node_obj["metadata"].pop("resourceVersion", None)
        cluster.update(kind, node_obj)
    for attributes in USB_DEVICES:
        usb.plug(cluster, USB_NODE, attributes)


def node(name, zone):
    usbip = {usb.USBIP_LABEL: "true"} if name == USB_NODE else {}
    return {
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": zone, "node-role.kubernetes.io/worker": "",
            "node.deckhouse.io/group": "worker", **cpu_labels(NODES.index(name)), **usbip}},
        "spec": {"podCIDR": f"10.111.{NODES.index(name)}.0/24"},
        "status": {
            "capacity": {"cpu": "16", "memory": "65536Mi", "pods": "110"},
            "allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": f"192.168.10.{11 + NODES.index(name)}"},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                         "osImage": "Ubuntu 22.04.5 LTS", "kernelVersion": "5.15.0-122-generic",
                         "containerRuntimeVersion": "containerd://1.7.24", "architecture": "amd64",
                         "operatingSystem": "linux", "machineID": f"{NODES.index(name) + 1:032x}",
                         "systemUUID": f"4c4c4544-0000-1000-8000-{NODES.index(name) + 1:012x}",
                         "bootID": f"b007{NODES.index(name) + 1:028x}"},
        },
    }


def storage_classes():
    def sc(name, provisioner, binding, default=False):
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
        return {"metadata": {"name": name, "annotations": annotations}, "provisioner": provisioner,
                "reclaimPolicy": "Delete", "volumeBindingMode": binding, "allowVolumeExpansion": True}
    replicated = "replicated.csi.storage.deckhouse.io"
    return [
        sc("i-sds-replicated-thin-r1", replicated, "Immediate", default=True),
        sc("i-sds-replicated-thin-r2", replicated, "Immediate"),
        sc("i-sds-replicated-thin-r3", replicated, "Immediate"),
        sc("sds-replicated-thin-r1", replicated, "WaitForFirstConsumer"),
        sc("sds-replicated-thin-r2", replicated, "WaitForFirstConsumer"),
        sc("sds-replicated-thin-r3", replicated, "WaitForFirstConsumer"),
        sc("nfs-4-1-wffc", "nfs.csi.k8s.io", "WaitForFirstConsumer"),
    ]


def generic_class(now):
    return {
        "metadata": {"name": "generic", "annotations": {
            "virtualmachineclass.virtualization.deckhouse.io/is-default-class": "true"}},
        "spec": {
            "cpu": {"type": "Discovery", "discovery": {}},
            "nodeSelector": {"matchExpressions": [
                {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]},
            "sizingPolicies": [
                # As the admin guide's example: 1-4 cores share one memory range (the user guide then
                # grows a 1Gi VM from 1 to 2 cores).
                {"cores": {"min": 1, "max": 4}, "coreFractions": [5, 10, 20, 50, 100], "dedicatedCores": [False],
                 "memory": {"min": "1Gi", "max": "8Gi", "step": "512Mi"}},
                {"cores": {"min": 5, "max": 8}, "coreFractions": [20, 50, 100], "dedicatedCores": [False],
                 "memory": {"min": "5Gi", "max": "16Gi", "step": "1Gi", "perCore": {"min": "1Gi", "max": "8Gi"}}},
                {"cores": {"min": 9, "max": 16}, "coreFractions": [50, 100], "dedicatedCores": [True, False],
                 "memory": {"min": "9Gi", "max": "64Gi", "step": "1Gi", "perCore": {"min": "1Gi", "max": "8Gi"}}},
            ],
        },
        "status": {
            "phase": "Ready",
            "availableNodes": list(NODES),
            "maxAllocatableResources": {"cpu": "16", "memory": "64Gi"},
            "cpuFeatures": {"enabled": ["sse4_2", "avx", "avx2", "aes", "x2apic", "hypervisor"]},
            "conditions": [{"type": "Ready", "status": "True", "reason": "SuitableNodesFound", "message": "",
                            "lastTransitionTime": now},
                           {"type": "Discovered", "status": "True", "reason": "DiscoverySucceeded", "message": "",
                            "lastTransitionTime": now}],
        },
    }


def module_config():
    return {
        "metadata": {"name": "virtualization"},
        "spec": {"enabled": True, "version": 1, "settings": {
            "virtualMachineCIDRs": list(VM_CIDRS),
            "dvcr": {"storage": {"type": "PersistentVolumeClaim",
                                 "persistentVolumeClaim": {"size": "50G", "storageClassName": "i-sds-replicated-thin-r1"}}},
        }},
    }


def cluster_images(base_url):
    def cvi(name, file):
        return {"metadata": {"name": name},
                "spec": {"dataSource": {"type": "HTTP", "http": {"url": f"{base_url}/dvpsim/samples/{file}"}}}}
    return [cvi("ubuntu-noble", "noble-server-cloudimg-amd64.img"), cvi("alpine-virt", "alpine-virt.qcow2")]


def demo_vm(namespace):
    yield "VirtualDisk", {
        "metadata": {"name": "demo-vm-root", "namespace": namespace},
        "spec": {"persistentVolumeClaim": {"size": "10Gi"},
                 "dataSource": {"type": "ObjectRef", "objectRef": {"kind": "ClusterVirtualImage", "name": "ubuntu-noble"}}},
    }
    yield "VirtualMachine", {
        "metadata": {"name": "demo-vm", "namespace": namespace},
        "spec": {"virtualMachineClassName": "generic", "cpu": {"cores": 1, "coreFraction": "10%"},
                 "memory": {"size": "1Gi"}, "blockDeviceRefs": [{"kind": "VirtualDisk", "name": "demo-vm-root"}],
                 "provisioning": {"type": "UserData", "userData": GUIDE_USER_DATA}},
    }


def _bind(cluster, user, namespace, role, kind="User"):
    subject = [{"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": user}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    if namespace is None:
        _create(cluster, "ClusterRoleBinding", {"metadata": {"name": f"demo:{user}"}, "roleRef": ref,
                                                "subjects": subject})
    else:
        _create(cluster, "RoleBinding", {"metadata": {"name": f"demo:{user}", "namespace": namespace},
                                         "roleRef": ref, "subjects": subject})


def _create(cluster, kind_name, obj):
    kind = kinds.get(kind_name)
    meta = obj["metadata"]
    if cluster.store.peek(kind, meta.get("namespace", ""), meta["name"]) is None:
        cluster.create(kind, obj)
