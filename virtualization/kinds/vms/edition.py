"""Which DVP edition this cluster runs, as far as the user can tell: it decides how new placement rules reach a
running VM (the guide: live migration in the commercial editions, a restart in CE). A project user cannot read
the ModuleConfig or the modules, so the console asks the API with a dry run, as the user, of what only the
Community Edition refuses: a migration to chosen nodes (vmop_webhook.go, dvp-api-notes §4.10)."""
from dataclasses import dataclass

from portal.kube import KubeError, kinds
from projects.access import can, kube_for

CE_REFUSAL = "not available in the Community Edition"


@dataclass
class Edition:
    name: str = ""      # "CE", "commercial", or "" when it cannot be told
    unknown_why: str = ""

    @property
    def placement_applies(self):
        if self.name == "CE":
            return "at once if the VM's node still fits; else after a restart (this cluster runs DVP CE)"
        if self.name == "commercial":
            return "at once; a VM whose node no longer fits is live-migrated (this cluster's edition does)"
        return "immediately (EE, SE+); after a restart in CE"


def of_cluster(user, project, vm_name):
    if not can(user, "create", kinds.VMOP, project):
        return Edition(unknown_why="This cluster's edition cannot be told as you (it takes the right to create "
                                   "VM operations), so the placement rows give both editions' behaviour.")
    probe = {"metadata": {"generateName": "edition-probe-"}, "spec": {
        "type": "Migrate", "virtualMachineName": vm_name,
        "migrate": {"nodeSelector": {"kubernetes.io/hostname": "edition-probe"}}}}
    try:
        kube_for(user).create(kinds.VMOP, probe, project, dry_run=True)
    except KubeError as exc:
        if CE_REFUSAL in exc.message:
            return Edition("CE")
        return Edition(unknown_why=f"This cluster's edition could not be told ({exc.summary()}), so the placement "
                                   "rows give both editions' behaviour.")
    return Edition("commercial")
