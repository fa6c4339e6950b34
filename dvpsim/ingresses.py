"""What kube-apiserver checks of an Ingress (networking.k8s.io/v1) on its way in: the validation of
pkg/apis/networking/validation (rules, hosts, paths and their pathType, backends, TLS), with its words."""

import ipaddress
import re

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
SUBDOMAIN_MESSAGE = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                     "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                     "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
WILDCARD_MESSAGE = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
                    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
                    "character (e.g. '*.example.com', regex used for validation is "
                    "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MESSAGE = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                 "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                 "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def admit(cluster, operation, obj, old, checks):
    if operation == "CREATE":
        obj["status"] = {"loadBalancer": {}}  # the strategy's PrepareForCreate: an empty status, never the sender's
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    if not rules and not spec.get("defaultBackend"):
        checks.causes.append({"field": "spec", "reason": "FieldValueInvalid", "message":
                              "Invalid value: \"null\": either `defaultBackend` or `rules` must be specified"})
    if spec.get("defaultBackend"):
        _backend(checks, "spec.defaultBackend", spec["defaultBackend"])
    for i, rule in enumerate(rules):
        where = f"spec.rules[{i}]"
        if rule.get("host"):
            _host(checks, f"{where}.host", rule["host"])
        paths = (rule.get("http") or {}).get("paths")
        if rule.get("http") is not None and not paths:
            checks.required(f"{where}.http.paths")
        for j, path in enumerate(paths or []):
            _path(checks, f"{where}.http.paths[{j}]", path)
    for i, tls in enumerate(spec.get("tls") or []):
        for j, host in enumerate(tls.get("hosts") or []):
            _host(checks, f"spec.tls[{i}].hosts[{j}]", host)
        secret = tls.get("secretName")
        if secret and not DNS1123_SUBDOMAIN.match(secret):
            checks.invalid(f"spec.tls[{i}].secretName", secret, SUBDOMAIN_MESSAGE)


def _host(checks, field, host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        checks.invalid(field, host, "must be a DNS name, not an IP address")
        return
    if host.startswith("*."):
        if not DNS1123_SUBDOMAIN.match(host[2:]):
            checks.invalid(field, host, WILDCARD_MESSAGE)
    elif "*" in host or not DNS1123_SUBDOMAIN.match(host) or len(host) > 253:
        checks.invalid(field, host, SUBDOMAIN_MESSAGE)


def _path(checks, field, path):
    path_type, value = path.get("pathType"), path.get("path", "")
    if not path_type:
        checks.causes.append({"field": f"{field}.pathType", "reason": "FieldValueRequired",
                              "message": "Required value: pathType must be specified"})
    elif path_type not in PATH_TYPES:
        checks.enum(f"{field}.pathType", path_type, PATH_TYPES)
    elif path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            checks.invalid(f"{field}.path", value, "must be an absolute path")
        elif "//" in value:
            checks.invalid(f"{field}.path", value, "must not contain '//'")
    _backend(checks, f"{field}.backend", path.get("backend") or {})


def _backend(checks, field, backend):
    service, resource = backend.get("service"), backend.get("resource")
    if not service and not resource:
        checks.causes.append({"field": field, "reason": "FieldValueInvalid",
                              "message": "Invalid value: \"\": one backend (`service` or `resource`) must be specified"})
        return
    if not service:
        return
    name = service.get("name") or ""
    if not name:
        checks.required(f"{field}.service.name")
    elif not DNS1035_LABEL.match(name) or len(name) > 63:
        checks.invalid(f"{field}.service.name", name, LABEL_MESSAGE)
    port = service.get("port") or {}
    number, port_name = port.get("number"), port.get("name")
    if not number and not port_name:
        checks.causes.append({"field": f"{field}.service.port", "reason": "FieldValueRequired",
                              "message": "Required value: port name or number is required"})
    elif number and port_name:
        checks.causes.append({"field": f"{field}.service.port", "reason": "FieldValueInvalid",
                              "message": "Invalid value: \"\": cannot specify both port name and port number"})
    elif number is not None and not (isinstance(number, int) and 1 <= number <= 65535):
        checks.invalid(f"{field}.service.port.number", number, "must be between 1 and 65535, inclusive")
