"""Shared form pieces: Kubernetes name and quantity fields, and API errors put on the right field."""
import re

from django import forms
from django.core.exceptions import ValidationError

from portal.kube import AlreadyExists, Invalid, quantity

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_name(value):
    if len(value) > 63:
        raise ValidationError("At most 63 characters.")
    if not NAME_RE.match(value):
        raise ValidationError("Use lower-case letters, digits and '-', starting and ending with a letter or digit.")


def validate_size(value):
    size = quantity.parse(value)
    if size is None:
        raise ValidationError("Give a size with its unit, for example 10Gi or 512Mi.")
    if size <= 0:
        raise ValidationError("The size must be greater than zero.")


class NameField(forms.CharField):
    default_validators = [validate_name]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 63)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                           "pattern": NAME_RE.pattern}))
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(value).strip()


class SizeField(forms.CharField):
    default_validators = [validate_size]

    def to_python(self, value):
        return super().to_python(value).strip().replace(" ", "")


def apply_api_error(form, exc, field_map, noun):
    """Put an API refusal on the form: 422 causes on their fields, a taken name on the name field.

    `field_map` maps API field paths (prefixes) to form field names. Returns True when the error
    was placed on the form (the caller re-renders it), False when it is not a form error.
    """
    if isinstance(exc, AlreadyExists):
        form.add_error("name", f"An {noun} with this name already exists in the project."
                       if noun[0].lower() in "aeiou" else f"A {noun} with this name already exists in the project.")
        return True
    if not isinstance(exc, Invalid):
        return False
    placed = False
    for cause in exc.causes:
        field = _form_field(cause.get("field") or "", field_map)
        message = cause.get("message") or exc.message
        if field and field in form.fields:
            form.add_error(field, message)
        else:
            form.add_error(None, message)
        placed = True
    if not placed:
        form.add_error(None, exc.message)
    return True


def _form_field(api_field, field_map):
    best = None
    for prefix, name in field_map.items():
        if api_field == prefix or api_field.startswith(prefix + ".") or api_field.startswith(prefix + "["):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, name)
    return best[1] if best else None
