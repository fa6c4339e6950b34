"""Daphne serving the console on a simulated cluster, as the browser tests and the benchmarks use it."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=30):
    """Return once something listens on the loopback `port`; fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start_console(sim, workdir, password, **settings):
    """Migrate, seed the demo users with `password`, start Daphne on a free port: (process, port).
    `settings` are further DVP_*/DJANGO_* environment variables."""
    port = free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="portal.settings", DVP_KUBECONFIG=str(sim.kubeconfig),
               DVP_KUBE_CONTEXT="dvp-console", DVP_DATABASE_PATH=str(Path(workdir) / "db.sqlite3"),
               DVP_DEMO_PASSWORD=password, DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
               DVP_DATA_EXPORT_URL=f"{sim.url}/dvpsim/dataexport/{{namespace}}/{{name}}", **settings)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run(manage + ["seed_demo_users"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    log = open(Path(workdir) / "daphne.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "portal.asgi:application"], env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_for_port(port, server)
    except RuntimeError:
        server.kill()
        raise RuntimeError((Path(workdir) / "daphne.log").read_text())
    return server, port


def stop_console(server):
    server.terminate()
    server.wait(10)
