"""The container image's steps, without Docker (no base image registry is reachable here).

What the Dockerfile does, done the same way: the locked dependencies (requirements.lock, hashes
required) and the console's wheel without extras into a clean virtualenv, templates and static
files beside it, collectstatic with hashed names; then the console starts as a non-root user with
all of that read-only and only a tmp directory writable, and it serves: health, the login page
with hashed static files, and a demo user's project list from the simulated cluster.
"""
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.console_server import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # like the image's: not the developer's pyenv (unreadable to others)
SOURCES = ["pyproject.toml", "manage.py", "portal", "projects", "virtualization", "system", "dvpsim"]
DVPSIM_ONLY = ["asyncssh", "PIL", "passlib"]


def run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def as_non_root():
    """subprocess arguments that drop root for the user nobody (already non-root: nothing to drop)."""
    return {"user": "nobody", "group": "nogroup", "extra_groups": []} if os.geteuid() == 0 else {}


@pytest.fixture(scope="module")
def image():
    """The image's file tree: {venv, app, src} in a directory others may read (pytest's are private)."""
    base = Path(tempfile.mkdtemp(prefix="dvp-image-"))
    os.chmod(base, 0o755)
    src = base / "src"
    src.mkdir()
    for name in SOURCES:  # COPY
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(
            ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                        if (ROOT / name).is_dir() else {}))
    venv = base / "venv"
    run(SYSTEM_PYTHON, "-m", "venv", str(venv))
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    run(*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock"))
    run(str(venv / "bin" / "pip"), "wheel", "-q", "--no-deps", "-w", str(base / "wheels"), str(src))
    [wheel] = (base / "wheels").glob("dvp_console-*.whl")
    run(*pip, "--no-deps", str(wheel))
    app = base / "app"
    shutil.copytree(ROOT / "templates", app / "templates")
    shutil.copytree(ROOT / "static", app / "static")
    (app / "node_modules").symlink_to(ROOT / "node_modules")  # the assets stage's npm ci
    env = dict(image_env(base), DJANGO_SECRET_KEY="collectstatic-only-key-never-used-to-sign-anything-at-runtime")
    run(str(venv / "bin" / "django-admin"), "collectstatic", "--noinput", "-v", "0", env=env)
    (app / "node_modules").unlink()
    for path in [base, *base.rglob("*")]:  # the image's files: nobody may change them
        if not path.is_symlink():
            os.chmod(path, (path.stat().st_mode | 0o555 if path.is_dir() else path.stat().st_mode | 0o444) & ~0o222)
    yield base
    for path in [base, *base.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, path.stat().st_mode | 0o200)
    shutil.rmtree(base)


def image_env(base):
    keep = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "PIP_FIND_LINKS")}
    return dict(keep, DJANGO_SETTINGS_MODULE="portal.settings", DVP_SHARE_DIR=str(base / "app"),
                DJANGO_STATIC_ROOT=str(base / "app" / "staticfiles"), PYTHONDONTWRITEBYTECODE="1")


def test_it_installs_the_console_without_dvpsims_dependencies(image):
    python = str(image / "venv" / "bin" / "python")
    for module in DVPSIM_ONLY:
        result = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, module
    run(python, "-c", "import portal, projects, virtualization, system, daphne, psycopg, django_prometheus")


def test_it_collects_static_files_with_hashed_names(image):
    manifest = (image / "app" / "staticfiles" / "staticfiles.json").read_text()
    assert re.search(r'"css/console.css": "css/console\.[0-9a-f]{12}\.css"', manifest)
    assert re.search(r'"vendor/xterm/lib/xterm.js": "vendor/xterm/lib/xterm\.[0-9a-f]{12}\.js"', manifest)


@pytest.fixture
def tmp_volume():
    """The only writable place, like the pod's /tmp volume: the non-root user's own."""
    tmp = Path(tempfile.mkdtemp(prefix="dvp-tmp-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "nobody")
    yield tmp
    shutil.rmtree(tmp)


def test_it_serves_as_a_non_root_user_from_read_only_files(image, sim, tmp_volume):
    tmp = tmp_volume
    shutil.copy(sim.kubeconfig, tmp / "kubeconfig")
    os.chmod(tmp / "kubeconfig", 0o644)
    port = free_port()
    env = dict(image_env(image), HOME=str(tmp), TMPDIR=str(tmp), DJANGO_SECRET_KEY="s" * 50,
               DJANGO_ALLOWED_HOSTS="127.0.0.1", DVP_KUBECONFIG=str(tmp / "kubeconfig"),
               DVP_KUBE_CONTEXT="dvp-console", DVP_DATABASE_PATH=str(tmp / "db.sqlite3"),
               DVP_DEMO_PASSWORD="image-test-password", DVP_LOG_FORMAT="json")
    admin = str(image / "venv" / "bin" / "django-admin")
    run(admin, "migrate", "--noinput", "-v", "0", env=env, cwd=tmp, **as_non_root())
    run(admin, "seed_demo_users", env=env, cwd=tmp, **as_non_root())
    log = open(tmp / "daphne.log", "wb")
    server = subprocess.Popen([str(image / "venv" / "bin" / "daphne"), "-b", "127.0.0.1", "-p", str(port), "-v", "0",
                               "portal.asgi:application"], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                              **as_non_root())
    try:
        wait_for_port(port, server)
        assert os.stat(f"/proc/{server.pid}").st_uid != 0  # Daphne runs as a non-root user
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        assert opener.open(f"{base}/healthz").read() == b"ok\n"
        assert opener.open(f"{base}/readyz").status == 200
        login = opener.open(f"{base}/login/").read().decode()
        stylesheet = re.search(r'href="(/static/css/console\.[0-9a-f]{12}\.css)"', login).group(1)
        asset = opener.open(base + stylesheet)
        assert asset.status == 200 and "immutable" in asset.headers["Cache-Control"]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "alice",
                                       "password": "image-test-password"}).encode()
        projects = opener.open(f"{base}/login/", data=form)
        assert projects.url == f"{base}/projects/" and "project-a" in projects.read().decode()
    finally:
        server.terminate()
        server.wait(10)
    output = (tmp / "daphne.log").read_text()
    assert "Traceback" not in output and "Permission denied" not in output, output
    assert all(line.startswith("{") for line in output.splitlines() if line.strip()), output  # JSON lines only
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "dvp.access"]
    assert {(line["method"], line["path"], line["status"]) for line in access} >= {
        ("GET", "/healthz", 200), ("GET", "/login/", 200), ("POST", "/login/", 302), ("GET", "/projects/", 200)}
    assert all(len(line["request_id"]) == 32 for line in access)
