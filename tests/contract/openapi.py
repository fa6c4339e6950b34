"""A small validator for the structural OpenAPI v3 schemas of CustomResourceDefinitions.

Checks what a kube-apiserver checks of a stored object (types, required, enums, patterns,
lengths, bounds, item counts) and reports fields the schema does not know, which a real API
server would prune: a simulator that writes them is not faithful.
"""
import re

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate(schema, value, path=""):
    """A list of "path: problem" strings; empty when `value` fits `schema`."""
    errors = []
    _check(schema or {}, value, path or ".", errors)
    return errors


def _check(schema, value, path, errors):
    if value is None:
        if not schema.get("nullable"):
            errors.append(f"{path}: null is not allowed")
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer or a string, got {type(value).__name__}")
            return
    elif not _type_ok(schema.get("type"), value):
        errors.append(f"{path}: expected {schema.get('type')}, got {type(value).__name__} ({value!r:.60})")
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: length {len(value)} is out of bounds")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} is above {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: {len(value)} items is out of bounds")
        for i, item in enumerate(value):
            _check(schema.get("items") or {}, item, f"{path}[{i}]", errors)
    if isinstance(value, dict):
        _check_object(schema, value, path, errors)


def _type_ok(kind, value):
    if kind is None:
        return True
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES.get(kind, object))


def _check_object(schema, value, path, errors):
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{path}: {name} is required")
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        child = f"{path.rstrip('.')}.{name}"
        if properties and name in properties:
            _check(properties[name], item, child, errors)
        elif isinstance(extra, dict):
            _check(extra, item, child, errors)
        elif properties is not None and not schema.get("x-kubernetes-preserve-unknown-fields") and extra is not True:
            errors.append(f"{child}: unknown field (a real API server prunes it)")
