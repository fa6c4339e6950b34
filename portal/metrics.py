"""Prometheus metrics beyond HTTP (django-prometheus counts requests by view and status).

Served with django-prometheus' at /metrics (portal.health.metrics), to direct clients only.
"""
from prometheus_client import Counter, Gauge, Histogram

KUBE_REQUESTS = Counter(
    "dvp_kube_api_requests_total",
    "Kubernetes API calls made for users, by verb and result (HTTP status, or 'unreachable').",
    ["verb", "result"])
KUBE_LATENCY = Histogram(
    "dvp_kube_api_request_duration_seconds",
    "Time to the Kubernetes API's answer (for watches and consoles: to the stream's start).",
    ["verb"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
WATCHES_OPEN = Gauge("dvp_kube_watches_open", "Watches on the Kubernetes API open now (live pages).")
CONSOLE_SESSIONS_OPEN = Gauge(
    "dvp_console_sessions_open", "Console relays open now, by stream (serial console or VNC).", ["stream"])
CONSOLE_BYTES = Counter(
    "dvp_console_relayed_bytes_total",
    "Bytes relayed between browsers and VM consoles, by stream and direction (to_browser, to_vm).",
    ["stream", "direction"])
UPLOAD_BYTES = Counter("dvp_upload_bytes_total", "Bytes of disk images uploaded through the console.")
DOWNLOAD_BYTES = Counter("dvp_download_bytes_total", "Bytes of disks and disk snapshots downloaded through the console.")
