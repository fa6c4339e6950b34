"""A throwaway PostgreSQL server for the tests (Debian's `postgresql` package, installed by scripts/setup).

    python -m tests.postgres start DIR   # prints its DATABASE_URL
    python -m tests.postgres stop DIR

The cluster lives in DIR (data, socket, log), listens on 127.0.0.1 on a free port, trusts local
connections and skips fsync: it holds nothing worth keeping. As root it runs as the `postgres` user
(initdb refuses root).
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise SystemExit(f"PostgreSQL's {name} is not installed: run scripts/setup --browser")
    return path


def _as_server_user(directory):
    if os.geteuid() != 0:
        return []
    shutil.chown(directory, "postgres")
    for sub in Path(directory).rglob("*"):
        shutil.chown(sub, "postgres")
    return ["runuser", "-u", "postgres", "--"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(directory):
    """Start a fresh cluster in `directory`; returns its DATABASE_URL."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    as_user = _as_server_user(directory)
    data, port = directory / "data", _free_port()
    subprocess.run(as_user + [_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                              "--locale=C", "--no-sync"], check=True, stdout=subprocess.DEVNULL)
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(as_user + [_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "server.log"),
                              "-w", "-t", "60", "start"], check=True, stdout=subprocess.DEVNULL)
    (directory / "url").write_text(url := f"postgres://postgres@127.0.0.1:{port}/postgres")
    return url


def stop(directory):
    directory = Path(directory).resolve()
    if (directory / "data" / "postmaster.pid").exists():
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(as_user + [_bin("pg_ctl"), "-D", str(directory / "data"), "-m", "immediate", "-w", "stop"],
                       check=False, stdout=subprocess.DEVNULL)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    if command == "start":
        print(start(target))
    elif command == "stop":
        stop(target)
    else:
        raise SystemExit(f"unknown command {command}")
