"""The user guide's "Organizing interaction with virtual machines", driven as the guide drives it (kubectl for
its `d8 k` commands) against a private dvpsim."""

import re
import time

import pytest

from tests.guest import ssh
from tests.dvpsim.guide_placement.helpers import k

pytestmark = pytest.mark.usefixtures("linux_vm")


# ---- Organizing interaction with virtual machines ---------------------------------------------------------------

async def test_it_routes_the_guides_services_to_the_vm_labelled_app_nginx(dvp, psim):
    ip = dvp.get("virtualmachines", "linux-vm")["status"]["ipAddress"]
    assert k(dvp, "label", "vm", "linux-vm", "app=nginx").stdout.strip() == \
        "virtualmachine.virtualization.deckhouse.io/linux-vm labeled"

    def endpoints(name):
        deadline = time.monotonic() + 20
        out = ""
        while time.monotonic() < deadline:
            out = k(dvp, "get", "endpoints", name, "-o", "jsonpath={.subsets[*].addresses[*].ip}", check=False).stdout
            if out:
                return out.split()
            time.sleep(0.1)
        raise AssertionError(f"endpoints {name}: {out!r}")

    # Headless: no cluster IP, the name resolves to the VMs' own addresses.
    k(dvp, "apply", "-f", "-", stdin=f"""apiVersion: v1
kind: Service
metadata:
  name: http
  namespace: {dvp.namespace}
spec:
  clusterIP: None
  selector:
    # Label by which the service determines which virtual machine to direct traffic to.
    app: nginx
""")
    assert k(dvp, "get", "svc", "http", "-o", "jsonpath={.spec.clusterIP}").stdout == "None"
    assert endpoints("http") == [ip]
    # "After creation, the VM or VM group can be accessed by name: http.<namespace>.svc" (from inside a VM).
    resolved = await ssh(psim, dvp, "linux-vm", f"getent hosts http.{dvp.namespace}.svc")
    assert resolved.split() == [ip, f"http.{dvp.namespace}.svc.cluster.local"]

    # The guide's ClusterIP example has no ports, which Kubernetes refuses for a non-headless Service.
    refused = k(dvp, "apply", "-f", "-", check=False, stdin="""apiVersion: v1
kind: Service
metadata:
  name: http-clusterip
spec:
  selector:
    app: nginx
""")
    assert refused.returncode != 0 and 'The Service "http-clusterip" is invalid: spec.ports: Required value' in \
        refused.stderr, refused.stderr

    k(dvp, "apply", "-f", "-", stdin="""apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx-nodeport
spec:
  type: NodePort
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
      nodePort: 31880
---
apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx-lb
spec:
  type: LoadBalancer
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: linux-vm-nginx
spec:
  selector:
    # label by which the service determines which virtual machine to direct traffic to
    app: nginx
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
""")
    services = {line.split()[0]: line.split() for line in k(dvp, "get", "svc").stdout.splitlines()[1:]}
    assert services["linux-vm-nginx-nodeport"][1] == "NodePort" and services["linux-vm-nginx-nodeport"][4] == \
        "80:31880/TCP"
    # Without an explicit nodePort one is assigned, visible right after creation.
    assert services["linux-vm-nginx-lb"][1] == "LoadBalancer" and \
        re.fullmatch(r"80:3\d{4}/TCP", services["linux-vm-nginx-lb"][4])
    assert services["linux-vm-nginx"][1] == "ClusterIP" and services["linux-vm-nginx"][2].startswith("10.222.")
    for name in ("linux-vm-nginx-nodeport", "linux-vm-nginx-lb", "linux-vm-nginx"):
        assert endpoints(name) == [ip], name
    assert f"{ip}:80" in k(dvp, "describe", "svc", "linux-vm-nginx").stdout
    cluster_ip = services["linux-vm-nginx"][2]
    looked_up = await ssh(psim, dvp, "linux-vm", "nslookup linux-vm-nginx")
    assert f"Name:\tlinux-vm-nginx.{dvp.namespace}.svc.cluster.local\nAddress: {cluster_ip}" in looked_up
    assert "NXDOMAIN" in await ssh(psim, dvp, "linux-vm", "nslookup no-such-service")

    out = k(dvp, "apply", "-f", "-", stdin="""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: linux-vm
spec:
  rules:
    - host: linux-vm.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: linux-vm-nginx
                port:
                  number: 80
""").stdout
    assert "ingress.networking.k8s.io/linux-vm created" in out
    ingress = k(dvp, "get", "ingress", "linux-vm").stdout.splitlines()
    assert ingress[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert ingress[1].split()[:3] == ["linux-vm", "<none>", "linux-vm.example.com"] and "80" in ingress[1].split()

    # Membership follows the label.
    k(dvp, "label", "vm", "linux-vm", "app-")
    deadline = time.monotonic() + 20
    while k(dvp, "get", "endpoints", "linux-vm-nginx", "-o", "jsonpath={.subsets[*].addresses[*].ip}").stdout:
        assert time.monotonic() < deadline, "the unlabelled VM stayed an endpoint"
        time.sleep(0.1)
    k(dvp, "delete", "ingress", "linux-vm")
    k(dvp, "delete", "svc", "http", "linux-vm-nginx-nodeport", "linux-vm-nginx-lb", "linux-vm-nginx")
