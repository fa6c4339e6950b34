"""The simulated serial guest, driven without a socket."""

from dvpsim.guest import cloudinit
from dvpsim.guest.session import BlockDevice, GuestFacts, GuestSession
from tests.guide import CLOUD_INIT

GUIDE_USER_DATA = CLOUD_INIT + """  - name: root
    plain_text_passwd: toor
"""


def guest(**facts) -> GuestSession:
    facts.setdefault("hostname", "linux-vm")
    return GuestSession(GuestFacts(**facts), cloudinit.users(cloudinit.parse(GUIDE_USER_DATA)))


def type_(session: GuestSession, text: str) -> str:
    return session.feed(text.encode()).decode()


def login(session: GuestSession, user="cloud", password="cloud") -> str:
    session.connect()
    return type_(session, f"{user}\r") + type_(session, f"{password}\r")


def test_it_shows_the_login_prompt_on_connect_and_on_a_bare_enter():
    session = guest()
    assert session.connect().decode().endswith("\r\nlinux-vm login: ")
    assert type_(session, "\r") == "\r\nlinux-vm login: "


def test_it_echoes_the_login_but_not_the_password():
    session = guest()
    session.connect()
    assert type_(session, "cloud") == "cloud"
    assert type_(session, "\r") == "\r\nPassword: "
    assert type_(session, "cloud") == ""


def test_it_accepts_the_cloud_init_password_hash():
    out = login(guest())
    assert out.endswith("cloud@linux-vm:~$ ")
    assert "Welcome to" in out


def test_it_rejects_a_wrong_password():
    out = login(guest(), password="nope")
    assert out.endswith("\r\nLogin incorrect\r\nlinux-vm login: ")


def test_it_gives_root_a_hash_prompt():
    assert login(guest(), "root", "toor").endswith("root@linux-vm:~# ")


def test_it_handles_backspace():
    session = guest()
    session.connect()
    assert type_(session, "cloux\x7f") == "cloux\b \b"
    type_(session, "d\r")
    assert type_(session, "cloud\r").endswith("cloud@linux-vm:~$ ")


def test_it_answers_shell_commands_from_the_vm_facts():
    session = guest(cores=4, ip_address="10.66.10.7", memory_bytes=2 * 1024**3,
                    block_devices=[BlockDevice("root", 10 * 1024**3), BlockDevice("iso", 2 * 1024**2, cdrom=True)])
    login(session)
    assert type_(session, "nproc\r") == "nproc\r\n4\r\ncloud@linux-vm:~$ "
    assert "linux-vm" in type_(session, "hostname\r")
    assert "cloud" in type_(session, "whoami\r")
    assert "inet 10.66.10.7/" in type_(session, "ip a\r")
    lsblk = type_(session, "lsblk\r")
    assert "sda" in lsblk and "10G" in lsblk and "sr0" in lsblk
    assert "2.0Gi" in type_(session, "free -h\r")
    assert "hello world" in type_(session, "echo hello world\r")
    assert 'PRETTY_NAME="Ubuntu' in type_(session, "cat /etc/os-release\r")
    assert "Linux linux-vm" in type_(session, "uname -a\r")
    assert "frobnicate: command not found" in type_(session, "frobnicate\r")


def test_it_handles_ctrl_c_and_ctrl_d():
    session = guest()
    login(session)
    assert type_(session, "sleep 100\x03") == "sleep 100^C\r\ncloud@linux-vm:~$ "
    assert type_(session, "\x04").endswith("linux-vm login: ")
    assert session.state == "login"


def test_it_logs_out_on_exit():
    session = guest()
    login(session)
    assert type_(session, "exit\r").endswith("\r\nlinux-vm login: ")
    assert type_(session, "logout\r") == "logout\r\nPassword: "


def test_it_reads_users_from_cloud_init():
    config = cloudinit.parse(GUIDE_USER_DATA)
    users = cloudinit.users(config)
    assert users["cloud"].check_password("cloud")
    assert not users["cloud"].check_password("Cloud")
    assert not cloudinit.has_guest_agent(config)
    assert cloudinit.has_guest_agent(cloudinit.parse("#cloud-config\npackages: [nginx, qemu-guest-agent]\n"))
    assert cloudinit.users(cloudinit.parse("#!/bin/sh\necho hi\n")) == {}
