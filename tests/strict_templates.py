"""Missing template variables fail loudly in the tests (in production they render empty).

A name the view never put in the context, or an attribute a Python object does not have, is a defect: the
tests raise MissingTemplateVariable. A key missing from a dict is not: the templates render objects of the
API as dicts, and a field the cluster did not set shows as empty (or as a `default`), as it does in production.
`{% if %}` and other tags that ignore failures keep ignoring them, and so does an expression with a `default`
filter (an optional include parameter).
"""
import sys
from collections.abc import Mapping

from django.template.base import Variable, VariableDoesNotExist


class MissingTemplateVariable(Exception):
    pass


_original_resolve = Variable.resolve


def _failing_parent(variable, context):
    """(index of the lookup that fails, the object it was looked up on); index 0: the context itself."""
    lookups = variable.lookups or ()
    current = context
    for index, _bit in enumerate(lookups):
        try:
            current = _original_resolve(Variable(".".join(lookups[:index + 1])), context)
        except VariableDoesNotExist:
            parent = context if index == 0 else _original_resolve(Variable(".".join(lookups[:index])), context)
            return index, parent
    return None, current


def _has_default(frame):
    """Whether the expression being resolved says what to show instead ({{ x|default:"—" }}): then it is optional."""
    expression = frame.f_locals.get("self")
    return any(getattr(func, "__name__", "") in ("default", "default_if_none")
               for func, _args in getattr(expression, "filters", ()))


def _strict_resolve(self, context):
    try:
        return _original_resolve(self, context)
    except VariableDoesNotExist:
        caller = sys._getframe(1)
        if caller.f_locals.get("ignore_failures") or self.lookups is None or _has_default(caller):
            raise
        index, parent = _failing_parent(self, context)
        if index is None or (index > 0 and (isinstance(parent, Mapping) or parent in ("", None))):
            # A field the API object does not have (or the empty value a {% with %} took from one): empty, as in
            # production.
            raise
        template = getattr(getattr(context, "template", None), "origin", None)
        raise MissingTemplateVariable(
            f"{self.var!r} in {getattr(template, 'name', '?')}: "
            + ("no such name in the context" if index == 0 else f"{type(parent).__name__} has no "
               f"{self.lookups[index]!r}")) from None


def install():
    Variable.resolve = _strict_resolve
