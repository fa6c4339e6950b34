"""YAML as the console shows it (previews, the YAML tab, the editors: one dumper, so multi-line strings such as
cloud-init read as blocks everywhere), the YAML a create form will apply, and the `d8 k apply` command to copy."""
import yaml


def document(kind, manifest, namespace=None):
    """The full object as `kubectl apply` takes it: apiVersion and kind first, the namespace set."""
    metadata = dict(manifest.get("metadata") or {})
    if namespace and kind.namespaced:
        metadata["namespace"] = namespace
    body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata}
    body.update({k: v for k, v in manifest.items() if k != "metadata"})
    return body


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (cloud-init) as literal blocks, the way people write them."""


def _str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj):
    """One object (or a part of one, such as its .spec)."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120, allow_unicode=True)


def documents_yaml(documents):
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120,
                         allow_unicode=True)


def apply_command(yaml_text):
    return f"d8 k apply -f - <<EOF\n{yaml_text.rstrip()}\nEOF\n"


def preview(documents):
    """Context for includes/yaml_preview.html."""
    text = documents_yaml(documents)
    return {"yaml": text, "apply_command": apply_command(text)}
