"""Admission of the Kubernetes kinds with a server-side strategy dvpsim plays (Service is in dvpsim.services)."""

import base64


def admit_secret(cluster, operation, obj, old, checks):
    """kube-apiserver's Secret strategy: `stringData` is merged into `data` (base64, over the same keys) and never
    stored or returned."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
