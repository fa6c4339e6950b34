"""What the admission checks share: the error collector, the webhook names, small readers of the object."""

import re

from dvpsim.errors import Forbidden, Invalid

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

_WEBHOOKS = {
    "VirtualMachine": "vm.virtualization-controller.validate.d8-virtualization",
    "VirtualDisk": "vd.virtualization-controller.validate.d8-virtualization",
    "VirtualImage": "vi.virtualization-controller.validate.d8-virtualization",
    "ClusterVirtualImage": "cvi.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineOperation": "vmop.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineIPAddress": "vmip.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineMACAddress": "vmmac.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineBlockDeviceAttachment": "vmbda.virtualization-controller.validate.d8-virtualization",
    "VirtualMachineClass": "vmclass.virtualization-controller.validate.d8-virtualization",
    "ModuleConfig": "moduleconfig.virtualization-controller.validate.d8-virtualization",
}


class Checks:
    """Collects schema/CEL failures (422) and raises the first webhook denial (403)."""

    def __init__(self, kind, obj):
        self.kind = kind
        self.name = obj.get("metadata", {}).get("name", "")
        self.causes = []

    def required(self, field):
        self.causes.append({"field": field, "message": "Required value", "reason": "FieldValueRequired"})

    def invalid(self, field, value, message):
        self.causes.append({"field": field, "message": f"Invalid value: {show(value)}: {message}",
                            "reason": "FieldValueInvalid"})

    def cel(self, field, value_type, message):
        self.causes.append({"field": field, "message": f'Invalid value: "{value_type}": {message}',
                            "reason": "FieldValueInvalid"})

    def enum(self, field, value, allowed):
        supported = ", ".join(f'"{a}"' for a in allowed)
        self.causes.append({"field": field, "message": f"Unsupported value: {show(value)}: supported values: {supported}",
                            "reason": "FieldValueNotSupported"})

    def pattern(self, field, value, regex):
        self.invalid(field, value, f"{field} in body should match '{regex}'")

    def deny(self, message):
        webhook = _WEBHOOKS.get(self.kind.kind, "virtualization-controller.validate.d8-virtualization")
        raise Forbidden(f'admission webhook "{webhook}" denied the request: {message}')

    def raise_if_any(self):
        if self.causes:
            raise Invalid(causes=self.causes, kind=self.kind, name=self.name)


def show(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def get(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def phase(obj):
    return get(obj or {}, "status", "phase")


def check_name(checks, obj, max_length=253):
    name = obj.get("metadata", {}).get("name", "")
    if not name:
        return  # generateName: the API machinery names it
    if len(name) > max_length:
        checks.invalid("metadata.name", name, f"must be no more than {max_length} characters")
    elif not DNS1123_SUBDOMAIN.match(name):
        checks.invalid("metadata.name", name,
                       "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                       "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                       "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
