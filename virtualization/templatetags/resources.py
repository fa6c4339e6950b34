from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, "")


@register.filter
def age(timestamp):
    """kubectl's age of an API timestamp: 45s, 12m, 5h40m, 3d."""
    from virtualization.generic.tables import humanize_age

    return humanize_age(timestamp)


@register.filter
def compact(value):
    """A spec value as people read it in YAML-ish one-liners: scalars as they are, objects as compact JSON."""
    import json

    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(", ", ": "))
    return "—" if value is None else str(value)


@register.simple_tag
def ws_path(route, **kwargs):
    """{% ws_path "live-list" project=project.name slug=resource.slug %}: see portal.htmx.ws_path."""
    from portal.htmx import ws_path as path

    return path(route, **kwargs)
