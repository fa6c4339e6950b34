"""The VM class form of the admin guide's "VirtualMachineClass settings": name, "CPU Settings", placement (node
selector, tolerations) and "Resource allocation rules for virtual machines", read from and written to a
VirtualMachineClass. Rows ("Add") are posted as <block>-<i>-<field> with a <block>-count; an "add" or "remove"
submit only shows the form again. `.spec.cpu` is fixed once the class exists: the edit form shows it locked.
"""
from dataclasses import dataclass, field

from portal.kube import quantity

DEFAULT_ANNOTATION = "virtualmachineclass.virtualization.deckhouse.io/is-default-class"
MODEL_LABEL = "cpu-model.node.virtualization.deckhouse.io/"
FEATURE_LABEL = "cpu-feature.node.virtualization.deckhouse.io/"
CPU_TYPES = ("Host", "HostPassthrough", "Discovery", "Model", "Features")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
FRACTIONS = (5, 10, 20, 25, 50, 100)
ROW_FIELDS = {
    "discovery": ("key", "operator", "values"),
    "selector": ("key", "operator", "values"),
    "toleration": ("key", "operator", "value", "effect"),
    "policy": ("cores_min", "cores_max", "cores_step", "default_fraction", "memory_mode", "memory_min",
               "memory_max", "memory_step"),
}
ROW_LISTS = {"policy": ("fractions", "dedicated")}  # multi-valued fields of a row


def node_cpu(nodes):
    """(models, instruction sets) the nodes report, each sorted: what the CPU Settings may choose from."""
    models, features = set(), set()
    for node in nodes:
        for key, value in (node["metadata"].get("labels") or {}).items():
            if value == "true" and key.startswith(MODEL_LABEL):
                models.add(key[len(MODEL_LABEL):])
            elif value == "true" and key.startswith(FEATURE_LABEL):
                features.add(key[len(FEATURE_LABEL):])
    return sorted(models), sorted(features)


@dataclass
class ClassForm:
    name: str = ""
    default: bool = False
    cpu_type: str = "Discovery"
    cpu_model: str = ""
    cpu_features: list = field(default_factory=list)
    rows: dict = field(default_factory=lambda: {block: [] for block in ROW_FIELDS})
    resource_version: str = ""
    errors: dict = field(default_factory=dict)

    # ---- from a request, from an object ----

    @classmethod
    def from_post(cls, post):
        form = cls(name=post.get("name", "").strip(), default=post.get("default") == "on",
                   cpu_type=post.get("cpu_type", ""), cpu_model=post.get("cpu_model", ""),
                   cpu_features=post.getlist("cpu_features"), resource_version=post.get("resource_version", ""))
        for block, names in ROW_FIELDS.items():
            try:
                count = min(int(post.get(f"{block}-count", 0)), 32)
            except ValueError:
                count = 0
            rows = []
            for i in range(count):
                row = {n: post.get(f"{block}-{i}-{n}", "").strip() for n in names}
                row.update({n: post.getlist(f"{block}-{i}-{n}") for n in ROW_LISTS.get(block, ())})
                if post.get("remove") != f"{block}-{i}":
                    rows.append(row)
            form.rows[block] = rows
        if post.get("add") in ROW_FIELDS:
            form.rows[post["add"]].append(blank_row(post["add"]))
        return form

    @classmethod
    def from_object(cls, obj):
        spec, meta = obj.get("spec") or {}, obj["metadata"]
        cpu = spec.get("cpu") or {}
        form = cls(name=meta["name"], default=(meta.get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true",
                   cpu_type=cpu.get("type", ""), cpu_model=cpu.get("model", ""),
                   cpu_features=list(cpu.get("features") or []), resource_version=meta.get("resourceVersion", ""))
        form.rows["discovery"] = _expression_rows((cpu.get("discovery") or {}).get("nodeSelector"))
        form.rows["selector"] = _expression_rows(spec.get("nodeSelector"))
        form.rows["toleration"] = [{"key": t.get("key", ""), "operator": t.get("operator", "Equal"),
                                    "value": t.get("value", ""), "effect": t.get("effect", "")}
                                   for t in spec.get("tolerations") or []]
        form.rows["policy"] = [_policy_row(p) for p in spec.get("sizingPolicies") or []]
        return form

    # ---- to a VirtualMachineClass ----

    def validate(self, locked_cpu=False):
        if not self.name:
            self.errors["name"] = "Give the class a name."
        if not locked_cpu:
            if self.cpu_type not in CPU_TYPES:
                self.errors["cpu_type"] = "Choose the type of the vCPU."
            elif self.cpu_type == "Model" and not self.cpu_model:
                self.errors["cpu_model"] = "Choose the processor model."
            elif self.cpu_type == "Features" and not self.cpu_features:
                self.errors["cpu_features"] = "Choose at least one instruction set."
        for block in ("discovery", "selector"):
            for i, row in enumerate(self.rows[block]):
                if not row["key"]:
                    self.errors[f"{block}-{i}"] = "Give the label's key."
                elif row["operator"] in ("In", "NotIn") and not _values(row["values"]):
                    self.errors[f"{block}-{i}"] = f"{row['operator']} needs at least one value."
        for i, row in enumerate(self.rows["policy"]):
            self._validate_policy(i, row)
        return not self.errors

    def _validate_policy(self, i, row):
        where = f"policy-{i}"
        low, high = _int(row["cores_min"]), _int(row["cores_max"])
        if low is None or high is None:
            self.errors[f"{where}-cores"] = "Give the minimum and maximum number of cores (whole numbers)."
        if row["cores_step"] and _int(row["cores_step"]) is None:
            self.errors[f"{where}-cores"] = "The step is a whole number of cores."
        for name in ("memory_min", "memory_max", "memory_step"):
            if row[name] and memory_quantity(row[name]) is None:
                self.errors[f"{where}-memory"] = "Give memory in GiB (a number) or with its unit, e.g. 512Mi."
        if not (row["memory_min"] or row["memory_max"]) and not row["fractions"]:
            self.errors[where] = "Give this range memory limits, core fractions or both."
        if row["default_fraction"] and row["default_fraction"] not in row["fractions"]:
            self.errors[f"{where}-fractions"] = "The default core fraction must be one of the allowed fractions."

    def cpu(self):
        cpu = {"type": self.cpu_type}
        if self.cpu_type == "Model":
            cpu["model"] = self.cpu_model
        elif self.cpu_type == "Features":
            cpu["features"] = list(self.cpu_features)
        elif self.cpu_type == "Discovery":
            selector = _selector(self.rows["discovery"])
            cpu["discovery"] = {"nodeSelector": selector} if selector else {}
        return cpu

    def spec(self, cpu=None):
        spec = {"cpu": cpu if cpu is not None else self.cpu()}
        selector = _selector(self.rows["selector"])
        if selector:
            spec["nodeSelector"] = selector
        tolerations = [_toleration(row) for row in self.rows["toleration"] if row["key"] or row["operator"] == "Exists"]
        if tolerations:
            spec["tolerations"] = tolerations
        policies = [_policy(row) for row in self.rows["policy"]]
        if policies:
            spec["sizingPolicies"] = policies
        return spec

    def annotations(self, current=None):
        annotations = dict(current or {})
        if self.default:
            annotations[DEFAULT_ANNOTATION] = "true"
        else:
            annotations.pop(DEFAULT_ANNOTATION, None)
        return annotations

    def manifest(self):
        return {"metadata": {"name": self.name, **({"annotations": self.annotations()} if self.default else {})},
                "spec": self.spec()}

    def place_api_error(self, exc):
        """The API's words on the block they are about (its 422 causes by field; a webhook's denial of the
        sizing policies on that block); False when they concern none of them."""
        placed = False
        for cause in getattr(exc, "causes", None) or []:
            self.errors[_error_key(cause.get("field") or "")] = cause.get("message") or exc.message
            placed = True
        if not placed and ("size policy" in exc.message or "sizing polic" in exc.message):
            self.errors["policies"] = exc.message
            placed = True
        return placed


def blank_row(block):
    row = {n: "" for n in ROW_FIELDS[block]}
    row.update({n: [] for n in ROW_LISTS.get(block, ())})
    if block in ("discovery", "selector"):
        row["operator"] = "In"
    elif block == "toleration":
        row["operator"] = "Equal"
    elif block == "policy":
        row["memory_mode"] = "absolute"
    return row


def memory_quantity(text):
    """A memory size as the form takes it: a bare number is GiB (the guide enters `1`, `8`), else a quantity."""
    text = text.strip()
    value = f"{text}Gi" if text.replace(".", "", 1).isdigit() else text
    size = quantity.parse(value)
    return value if size is not None and size > 0 else None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _values(text):
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def _selector(rows):
    expressions = []
    for row in rows:
        expression = {"key": row["key"], "operator": row["operator"]}
        if row["operator"] in ("In", "NotIn"):
            expression["values"] = _values(row["values"])
        expressions.append(expression)
    return {"matchExpressions": expressions} if expressions else {}


def _expression_rows(selector):
    rows = [{"key": key, "operator": "In", "values": value}
            for key, value in ((selector or {}).get("matchLabels") or {}).items()]
    return rows + [{"key": e.get("key", ""), "operator": e.get("operator", "In"),
                    "values": ", ".join(e.get("values") or [])} for e in (selector or {}).get("matchExpressions") or []]


def _toleration(row):
    toleration = {"key": row["key"], "operator": row["operator"] or "Equal"}
    if row["operator"] != "Exists" and row["value"]:
        toleration["value"] = row["value"]
    if row["effect"]:
        toleration["effect"] = row["effect"]
    return {k: v for k, v in toleration.items() if v != ""}


def _policy(row):
    policy = {"cores": {"min": _int(row["cores_min"]), "max": _int(row["cores_max"])}}
    if row["cores_step"]:
        policy["cores"]["step"] = _int(row["cores_step"])
    memory = {}
    bounds = {k: memory_quantity(row[f"memory_{k}"]) for k in ("min", "max") if row[f"memory_{k}"]}
    if row["memory_mode"] == "perCore" and bounds:
        memory["perCore"] = bounds
    else:
        memory.update(bounds)
    if row["memory_step"]:
        memory["step"] = memory_quantity(row["memory_step"])
    if memory:
        policy["memory"] = memory
    if row["fractions"]:  # v1alpha3 (the version the console writes) spells fractions as percentages
        policy["coreFractions"] = [f"{f}%" for f in sorted(int(f) for f in row["fractions"] if f.isdigit())]
    if row["default_fraction"]:
        policy["defaultCoreFraction"] = f'{row["default_fraction"]}%'
    if row["dedicated"]:
        policy["dedicatedCores"] = [value == "true" for value in row["dedicated"]]
    return policy


def _policy_row(policy):
    cores, memory = policy.get("cores") or {}, policy.get("memory") or {}
    per_core = memory.get("perCore") or {}
    bounds = per_core or memory
    return {"cores_min": str(cores.get("min", "")), "cores_max": str(cores.get("max", "")),
            "cores_step": str(cores.get("step", "")),
            "default_fraction": str(policy.get("defaultCoreFraction", "")).rstrip("%"),
            "memory_mode": "perCore" if per_core else "absolute", "memory_min": str(bounds.get("min", "")),
            "memory_max": str(bounds.get("max", "")), "memory_step": str(memory.get("step", "")),
            "fractions": [str(f).rstrip("%") for f in policy.get("coreFractions") or []],
            "dedicated": ["true" if d else "false" for d in policy.get("dedicatedCores") or []]}


def _error_key(api_field):
    """Where a 422 cause goes: spec.sizingPolicies[1].cores → policy-1-cores, spec.cpu → cpu_type, …"""
    if api_field.startswith("spec.sizingPolicies["):
        index, _, rest = api_field[len("spec.sizingPolicies["):].partition("]")
        part = rest.lstrip(".").split(".")[0]
        return f"policy-{index}-{part}" if part in ("cores", "memory") else f"policy-{index}"
    if api_field.startswith("spec.cpu"):
        return "cpu_type"
    if api_field.startswith("spec.nodeSelector"):
        return "selector"
    if api_field.startswith("spec.tolerations"):
        return "toleration"
    if api_field.startswith("metadata.name"):
        return "name"
    return "form"
