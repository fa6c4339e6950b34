"""Version conversion between served and stored versions (VirtualMachineClass v1alpha2 <-> v1alpha3)."""

import copy


def _pct(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}%"
    return value


def _int(value):
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return value


def _convert_class(obj, fn):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    for policy in spec.get("sizingPolicies") or []:
        if isinstance(policy, dict) and isinstance(policy.get("coreFractions"), list):
            policy["coreFractions"] = [fn(v) for v in policy["coreFractions"]]
        if isinstance(policy, dict) and "defaultCoreFraction" in policy:  # per policy, as the CRD has it
            policy["defaultCoreFraction"] = fn(policy["defaultCoreFraction"])
    return obj


# core/v1 Event field <-> events.k8s.io/v1 Event field (k8s.io/kubernetes pkg/apis/events/v1 conversion)
_EVENT_FIELDS = (("involvedObject", "regarding"), ("message", "note"), ("source", "deprecatedSource"),
                 ("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
                 ("count", "deprecatedCount"), ("reportingComponent", "reportingController"))
# the same in both: metadata, eventTime, series, action, reason, type, related, reportingInstance


def _event_to_view(obj):
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        out[dict(_EVENT_FIELDS).get(key, key)] = copy.deepcopy(value)
    out.setdefault("eventTime", None)  # core events without one show `eventTime: null`, as in kube
    return out


def _event_from_view(obj):
    back = {v: k for k, v in _EVENT_FIELDS}
    out = {"apiVersion": "v1", "kind": "Event"}
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "eventTime" and value is None):
            continue
        out[back.get(key, key)] = copy.deepcopy(value)
    return out


def to_version(kind, obj, version):
    """A copy of a stored object as served in `version`."""
    if kind.view_of == "Event" and isinstance(obj, dict):
        return _event_to_view(obj)
    if version == kind.storage_version or obj is None:
        return obj
    obj = copy.deepcopy(obj)
    obj["apiVersion"] = kind.api_version_of(version)
    if kind.kind == "VirtualMachineClass" and version == "v1alpha3":
        _convert_class(obj, _pct)
    return obj


def from_version(kind, obj, version):
    """A copy of an object received in `version`, converted to the storage version."""
    if kind.view_of == "Event" and isinstance(obj, dict):
        return _event_from_view(obj)
    if version == kind.storage_version or not isinstance(obj, dict):
        return obj
    obj = copy.deepcopy(obj)
    obj["apiVersion"] = kind.api_version
    if kind.kind == "VirtualMachineClass" and version == "v1alpha3":
        _convert_class(obj, _int)
    return obj


def validate_event_create(view):
    """Causes of kube's strict validation of an Event created through events.k8s.io/v1
    (ValidateEventCreate): eventTime, reportingController/Instance, action and reason required,
    type Normal or Warning, the deprecated fields unset."""
    causes = []

    def required(field):
        causes.append({"field": field, "reason": "FieldValueRequired", "message": "Required value"})

    def invalid(field, detail):
        causes.append({"field": field, "reason": "FieldValueInvalid", "message": f'Invalid value: "": {detail}'})
    if not view.get("eventTime"):
        required("eventTime")
    if view.get("type") not in ("Normal", "Warning"):
        invalid("type", f"has invalid value: {view.get('type') or ''}")
    for field in ("reportingController", "reportingInstance", "action", "reason"):
        if not view.get(field):
            required(field)
    for field, core in (("deprecatedFirstTimestamp", "firstTimestamp"), ("deprecatedLastTimestamp", "lastTimestamp"),
                        ("deprecatedCount", "count"), ("deprecatedSource", "source")):
        if view.get(field):
            invalid(core, "needs to be unset")
    return causes


# metav1.Time / MicroTime fields of built-in kinds: kube-apiserver parses them and writes them back in
# its own form ("…Z", MicroTime with 6 digits), whatever RFC 3339 form the client sent.
_TIME_FIELDS = {
    "Event": ((("firstTimestamp",), False), (("lastTimestamp",), False), (("eventTime",), True),
              (("series", "lastObservedTime"), True)),
    "Lease": ((("spec", "acquireTime"), True), (("spec", "renewTime"), True)),
}


def normalize_times(kind_name, obj):
    """Rewrite the time fields of a core-shaped object of `kind_name` as kube serializes them."""
    from datetime import datetime, timezone
    for path, micro in _TIME_FIELDS.get(kind_name, ()):
        parent = obj
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        value = parent.get(path[-1]) if isinstance(parent, dict) else None
        if not isinstance(value, str):
            continue
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue  # left for validation to refuse
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        dt = dt.astimezone(timezone.utc)
        parent[path[-1]] = dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
    return obj
