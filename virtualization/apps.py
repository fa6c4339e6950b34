from django.apps import AppConfig


class VirtualizationConfig(AppConfig):
    name = "virtualization"

    def ready(self):
        # The kinds register themselves when their modules load; load them all now, so that
        # WebSocket consumers find the registry filled before any HTTP request loads the URLconf.
        from . import urls  # noqa: F401
