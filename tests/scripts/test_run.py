"""scripts/run, the README's first command: it refuses a port an earlier simulator or console still holds, and
whatever stops the console, the simulator it started stops too."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def run(tmp_path, sim_port, console_port):
    env = {**os.environ, "DVP_RUN_DIR": str(tmp_path), "DVPSIM_PORT": str(sim_port), "PORT": str(console_port),
           "DVP_DATABASE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(["scripts/run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def test_it_refuses_a_simulator_port_that_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = run(tmp_path, taken.getsockname()[1], free_port())
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "is in use (an earlier dvpsim or console still running?)" in output


@pytest.mark.parametrize("stopped", ["console", "script"])
def test_it_stops_the_simulator_whatever_stops_the_console(tmp_path, stopped):
    sim_port, console_port = free_port(), free_port()
    proc = run(tmp_path, sim_port, console_port)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{console_port}/login/", timeout=2) as page:
                    if page.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the console did not answer")
        assert listening(sim_port)
        if stopped == "console":  # a signal to the console alone, not the terminal's Ctrl+C to the group
            daphne = subprocess.run(["pgrep", "-f", f"daphne -b 127.0.0.1 -p {console_port}"], capture_output=True,
                                    text=True).stdout.split()
            assert daphne
            os.kill(int(daphne[0]), signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while listening(sim_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not listening(sim_port), "dvpsim stayed behind"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
