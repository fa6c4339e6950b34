"""What a VM class allows: core counts (its sizing policies and DVP's CPU topology steps), memory, CPU share.

The API server enforces the same rules; the form uses them to offer only valid values and to
explain a violation on the field before anything is sent.
"""
from dataclasses import dataclass

from portal.kube import quantity

MAX_CORES = 248
# (highest core count of the range, sockets): DVP spreads the cores evenly over the sockets.
TOPOLOGY_STEPS = ((16, 1), (32, 2), (64, 4), (MAX_CORES, 8))


def to_bytes(size):
    value = quantity.to_bytes(size)
    if value is None:
        raise ValueError(size)
    return value


def sockets_for(cores):
    return next(sockets for upper, sockets in TOPOLOGY_STEPS if cores <= upper)


def topology_allows(cores):
    return 1 <= cores <= MAX_CORES and cores % sockets_for(cores) == 0


def topology_error(cores):
    if cores > MAX_CORES:
        return f"A VM can have at most {MAX_CORES} cores."
    sockets = sockets_for(cores)
    upper = next(u for u, s in TOPOLOGY_STEPS if s == sockets)
    return (f"From {upper // 2 + 1} to {upper} cores the VM has {sockets} sockets, so the number of cores must be "
            f"a multiple of {sockets} (for example {cores - cores % sockets} or {cores - cores % sockets + sockets}).")


@dataclass
class Policy:
    min_cores: int
    max_cores: int
    core_step: int
    core_fractions: list      # ["5%", "10%", ...]; empty: any
    memory_min: str = ""
    memory_max: str = ""
    memory_step: str = ""
    per_core_min: str = ""
    per_core_max: str = ""

    @classmethod
    def of(cls, raw):
        cores, memory = raw.get("cores") or {}, raw.get("memory") or {}
        per_core = memory.get("perCore") or {}
        return cls(int(cores.get("min", 1)), int(cores.get("max", MAX_CORES)), int(cores.get("step") or 1),
                   [f"{int(str(f).rstrip('%'))}%" for f in raw.get("coreFractions") or []],
                   memory.get("min", ""), memory.get("max", ""), memory.get("step", ""),
                   per_core.get("min", ""), per_core.get("max", ""))

    def describe(self):
        parts = [f"{self.min_cores}–{self.max_cores} cores" + (f" in steps of {self.core_step}"
                                                                 if self.core_step > 1 else "")]
        if self.memory_min or self.memory_max:
            parts.append(f"memory {self.memory_min or '0'}–{self.memory_max or 'any'}"
                         + (f" in steps of {self.memory_step}" if self.memory_step else ""))
        if self.per_core_min or self.per_core_max:
            parts.append(f"{self.per_core_min or '0'}–{self.per_core_max or 'any'} per core")
        if self.core_fractions:
            parts.append("CPU share " + ", ".join(self.core_fractions))
        return "; ".join(parts)

    def memory_error(self, size, cores):
        size_bytes = to_bytes(size)
        if self.memory_min and size_bytes < to_bytes(self.memory_min) or \
                self.memory_max and size_bytes > to_bytes(self.memory_max):
            return f"For {self.min_cores}–{self.max_cores} cores the memory must be between " \
                   f"{self.memory_min or '0'} and {self.memory_max or 'any size'}."
        if self.per_core_min and size_bytes < to_bytes(self.per_core_min) * cores or \
                self.per_core_max and size_bytes > to_bytes(self.per_core_max) * cores:
            return f"Each core needs {self.per_core_min or '0'}–{self.per_core_max or 'any'} of memory: for " \
                   f"{cores} cores give between {_times(self.per_core_min, cores)} and {_times(self.per_core_max, cores)}."
        if self.memory_step and (size_bytes - to_bytes(self.memory_min or "0")) % to_bytes(self.memory_step):
            return f"The memory must change in steps of {self.memory_step} from {self.memory_min or '0'}."
        return ""


def _times(size, n):
    return quantity.times(size, n) if size else "any size"


class ClassRules:
    """The sizing rules of one VirtualMachineClass (none when the class has no sizing policies)."""

    def __init__(self, vmclass):
        self.name = (vmclass or {}).get("metadata", {}).get("name", "")
        self.policies = [Policy.of(p) for p in ((vmclass or {}).get("spec") or {}).get("sizingPolicies") or []]

    def policy_for(self, cores):
        return next((p for p in self.policies if p.min_cores <= cores <= p.max_cores), None)

    def allows_cores(self, cores):
        policy = self.policy_for(cores)
        return policy is not None and (cores - policy.min_cores) % policy.core_step == 0

    def valid_cores(self):
        return [n for n in range(1, MAX_CORES + 1)
                if topology_allows(n) and (not self.policies or self.allows_cores(n))]

    def core_fractions(self):
        fractions = {f for p in self.policies for f in p.core_fractions}
        return sorted(fractions, key=lambda f: int(f.rstrip("%")))

    def errors(self, cores, memory, core_fraction):
        """{field: message} for what the class does not allow."""
        if not topology_allows(cores):
            return {"cores": topology_error(cores)}
        if not self.policies:
            return {}
        policy = self.policy_for(cores)
        if policy is None:
            ranges = ", ".join(f"{p.min_cores}–{p.max_cores}" for p in self.policies)
            return {"cores": f"The class {self.name} allows {ranges} cores."}
        if not self.allows_cores(cores):
            return {"cores": f"For {policy.min_cores}–{policy.max_cores} cores the class {self.name} takes steps of "
                             f"{policy.core_step} cores from {policy.min_cores}."}
        errors = {}
        if core_fraction and policy.core_fractions and core_fraction not in policy.core_fractions:
            errors["core_fraction"] = f"With {cores} cores the class {self.name} allows a CPU share of " \
                                      + ", ".join(policy.core_fractions) + "."
        message = policy.memory_error(memory, cores)
        if message:
            errors["memory"] = message
        return errors
