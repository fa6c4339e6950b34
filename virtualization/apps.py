from django.apps import AppConfig


class VirtualizationConfig(AppConfig):
    name = "virtualization"

    def ready(self):
        # The one place the kinds are loaded: the URLconf, the sidebar and the live consumers all read
        # the registry they fill.
        from . import kinds  # noqa: F401
