"""A simulated Linux serial console: getty login, then a tiny shell.

Pure and synchronous: bytes in (what the user types), bytes out (what the terminal shows).
The WebSocket side lives in `console.py`.
"""

from dataclasses import dataclass, field

from dvpsim.guest.cloudinit import GuestUser
from dvpsim.guest.screen import Screen

CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_U = "\x15"
BACKSPACES = ("\x7f", "\x08")
ESC = "\x1b"


@dataclass
class BlockDevice:
    name: str          # the DVP object name (for humans)
    size_bytes: int
    cdrom: bool = False
    read_only: bool = False


@dataclass
class GuestFacts:
    hostname: str
    cores: int = 1
    memory_bytes: int = 1024**3
    ip_address: str = ""
    mac_address: str = "52:54:00:12:34:56"
    block_devices: list[BlockDevice] = field(default_factory=list)
    os_id: str = "ubuntu"
    os_pretty_name: str = "Ubuntu 24.04.1 LTS"
    os_version: str = "24.04.1 LTS (Noble Numbat)"
    os_version_id: str = "24.04"
    kernel: str = "6.8.0-45-generic"
    agent_installed: bool = False  # qemu-guest-agent is on the disk (cloud-init or installed by hand)
    resolve: object = None  # name -> (fully qualified name, addresses): the cluster DNS (dvpsim.guest.dns)


class GuestSession:
    def __init__(self, facts: GuestFacts, users: dict[str, GuestUser]):
        self.facts = facts
        self.users = users
        self.state = "login"        # login -> password -> shell
        self.user: str | None = None
        self._pending_login = ""
        self._line = ""
        self._escape = ""
        self._last_was_cr = False
        self._booted = False
        self.screen = Screen()      # the same output as the VNC display shows it
        self.flood: str | None = None  # set by `yes`: the console streams it until Ctrl+C
        self._sudo = False
        self.on_power_off = None    # called when the guest powers itself off (set by whoever runs the VM)
        self.on_reboot = None       # called when the guest reboots itself (the VM instance stays)
        self.on_crash = None        # called with a detail when the guest kernel panics
        self.on_agent = None        # called when qemu-guest-agent is started in the guest
        self.hang_up = False        # the serial line drops after this output (a reboot); whoever serves it resets it
        self.crashed = False        # a panicked kernel answers nothing

    # ---- what the terminal shows without typing -------------------------------------------

    def connect(self) -> bytes:
        """Output for a freshly attached console: boot log the first time, then the current prompt."""
        text = ""
        if self.crashed:
            return b""
        if not self._booted:
            self._booted = True
            text += self.boot_log()
        if self.state == "shell":
            text += "\r\n" + self.prompt() + self._line
        elif self.state == "password":
            text += "\r\nPassword: "
        else:
            text += self._login_prompt()
        self.screen.write(text.encode())
        return text.encode()

    def boot_log(self) -> str:
        f = self.facts
        lines = [
            f"[    0.000000] Linux version {f.kernel} (buildd@lcy02-amd64-001) #45-Ubuntu SMP PREEMPT_DYNAMIC",
            f"[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-{f.kernel} root=LABEL=cloudimg-rootfs ro console=ttyS0",
            f"[    0.212345] smp: Brought up 1 node, {f.cores} CPU{'s' if f.cores != 1 else ''}",
            "[    1.034567] Run /init as init process",
            "[  OK  ] Reached target cloud-init.target - Cloud-init target.",
            "[  OK  ] Started serial-getty@ttyS0.service - Serial Getty on ttyS0.",
            "",
            f"{f.os_pretty_name} {f.hostname} ttyS0",
        ]
        return "\r\n".join(lines) + "\r\n"

    def prompt(self) -> str:
        sign = "#" if self.user == "root" else "$"
        home = "~"
        return f"{self.user}@{self.facts.hostname}:{home}{sign} "

    def _login_prompt(self) -> str:
        return f"\r\n{self.facts.hostname} login: "

    # ---- keystrokes ------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        if self.crashed:
            return b""
        out = []
        for ch in data.decode("utf-8", errors="replace"):
            out.append(self._key(ch))
        output = "".join(out).encode()
        self.screen.write(output)
        return output

    def _key(self, ch: str) -> str:
        if self._escape or ch == ESC:
            return self._swallow_escape(ch)
        if ch == "\n" and self._last_was_cr:
            self._last_was_cr = False
            return ""
        self._last_was_cr = ch == "\r"
        if ch in ("\r", "\n"):
            line, self._line = self._line, ""
            return self._enter(line)
        if ch == CTRL_C:
            return self._interrupt()
        if ch == CTRL_D:
            return self._eof()
        if ch == CTRL_U:
            erased, self._line = self._line, ""
            return "" if self.state == "password" else "\b \b" * len(erased)
        if ch in BACKSPACES:
            if not self._line:
                return ""
            self._line = self._line[:-1]
            return "" if self.state == "password" else "\b \b"
        if ch == "\t" or (ord(ch) < 32):
            return ""
        self._line += ch
        return "" if self.state == "password" else ch

    def _swallow_escape(self, ch: str) -> str:
        # Arrow keys and friends (ESC [ A ...): no line editing history here, drop them.
        self._escape += ch
        if len(self._escape) >= 2 and (self._escape[1] != "[" or ch.isalpha() or ch == "~"):
            self._escape = ""
        return ""

    def _enter(self, line: str) -> str:
        if self.state == "login":
            name = line.strip()
            if not name:
                return self._login_prompt()
            self._pending_login = name
            self.state = "password"
            return "\r\nPassword: "
        if self.state == "password":
            return self._authenticate(self._pending_login, line)
        if line.split()[:1] in (["exit"], ["logout"]):
            return self.logout()
        output = self.run(line)
        if self.flood:
            return "\r\n"  # the prompt comes back after Ctrl+C
        if self.state != "shell" or self.crashed:
            return "\r\n" + output  # rebooting or panicked: no prompt
        return "\r\n" + output + self.prompt()

    def _authenticate(self, name: str, password: str) -> str:
        user = self.users.get(name)
        self._pending_login = ""
        if user is None or not user.check_password(password):
            self.state = "login"
            return "\r\n\r\nLogin incorrect" + self._login_prompt()
        self.state = "shell"
        self.user = name
        return "\r\n" + self._motd() + self.prompt()

    def _motd(self) -> str:
        f = self.facts
        lines = [
            f"Welcome to {f.os_pretty_name} (GNU/Linux {f.kernel} x86_64)",
            "",
            " * Documentation:  https://help.ubuntu.com",
            "",
            f"  IPv4 address for enp1s0: {f.ip_address}" if f.ip_address else "",
            "",
        ]
        return "\r\n".join(lines) + "\r\n"

    def _interrupt(self) -> str:
        self._line = ""
        self.flood = None
        if self.state == "shell":
            return "^C\r\n" + self.prompt()
        self.state = "login"
        self._pending_login = ""
        return self._login_prompt()

    def _eof(self) -> str:
        if self.state == "shell" and not self._line:
            return self.logout()
        return ""

    def logout(self) -> str:
        self.state = "login"
        self.user = None
        self._line = ""
        return "\r\nlogout\r\n" + self._login_prompt()

    # ---- the shell -------------------------------------------------------------------------

    def run(self, line: str) -> str:
        """Run one command line; returns its output (each line ending in CRLF)."""
        words = line.split()
        if not words:
            return ""
        if "/proc/sysrq-trigger" in line:
            return _sysrq(self, line)
        cmd, args = words[0], words[1:]
        handler = _COMMANDS.get(cmd)
        if handler is None:
            return f"{cmd}: command not found\r\n"
        text = handler(self, args)
        return "".join(part + "\r\n" for part in text.split("\n")) if text else ""


def _hostname(s: GuestSession, args):
    return s.facts.hostname


def _whoami(s: GuestSession, args):
    return s.user


def _id(s: GuestSession, args):
    uid = 0 if s.user == "root" else 1000
    return f"uid={uid}({s.user}) gid={uid}({s.user}) groups={uid}({s.user})"


def _nproc(s: GuestSession, args):
    return str(s.facts.cores)


def _pwd(s: GuestSession, args):
    return "/root" if s.user == "root" else f"/home/{s.user}"


def _uname(s: GuestSession, args):
    f = s.facts
    if "-a" in args:
        return (f"Linux {f.hostname} {f.kernel} #45-Ubuntu SMP PREEMPT_DYNAMIC "
                "Fri Aug 30 12:02:04 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux")
    if "-r" in args:
        return f.kernel
    return "Linux"


def _lookup(s: GuestSession, name):
    return s.facts.resolve(name) if s.facts.resolve else (name, [])


def _getent(s: GuestSession, args):
    if len(args) != 2 or args[0] not in ("hosts", "ahosts"):
        return "Usage: getent hosts NAME"
    fqdn, addresses = _lookup(s, args[1])
    return "\n".join(f"{address:<15} {fqdn}" for address in addresses)


def _nslookup(s: GuestSession, args):
    if not args:
        return "Usage: nslookup NAME"
    fqdn, addresses = _lookup(s, args[0])
    lines = ["Server:\t\t127.0.0.53", "Address:\t127.0.0.53#53", ""]
    if not addresses:
        return "\n".join(lines + [f"** server can't find {args[0]}: NXDOMAIN"])
    return "\n".join(lines + [line for address in addresses for line in (f"Name:\t{fqdn}", f"Address: {address}")])


def _echo(s: GuestSession, args):
    return " ".join(args)


def _ip(s: GuestSession, args):
    if not args or args[0] not in ("a", "addr", "address"):
        return "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }"
    f = s.facts
    lines = [
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000",
        "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
        "    inet 127.0.0.1/8 scope host lo",
        "       valid_lft forever preferred_lft forever",
        "2: enp1s0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc fq_codel state UP group default qlen 1000",
        f"    link/ether {f.mac_address} brd ff:ff:ff:ff:ff:ff",
    ]
    if f.ip_address:
        lines += [f"    inet {f.ip_address}/32 metric 100 scope global dynamic enp1s0",
                  "       valid_lft 86313sec preferred_lft 86313sec"]
    return "\n".join(lines)


def _lsblk_size(n: int) -> str:
    units = ["B", "K", "M", "G", "T"]
    value, i = float(n), 0
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}{units[i]}"


def _lsblk(s: GuestSession, args):
    rows = [("NAME", "MAJ:MIN", "RM", "SIZE", "RO", "TYPE", "MOUNTPOINTS")]
    disk_letter, cd_index = 0, 0
    for dev in s.facts.block_devices:
        if dev.cdrom:
            rows.append((f"sr{cd_index}", f"11:{cd_index}", "1", _lsblk_size(dev.size_bytes), "0", "rom", ""))
            cd_index += 1
            continue
        name = "sd" + chr(ord("a") + disk_letter)
        major_minor = f"8:{disk_letter * 16}"
        ro = "1" if dev.read_only else "0"
        rows.append((name, major_minor, "0", _lsblk_size(dev.size_bytes), ro, "disk", ""))
        if disk_letter == 0:  # the Ubuntu cloud image's layout (the guide's lsblk): root, BIOS boot, EFI
            rows.append((f"├─{name}1", "8:1", "0", _lsblk_size(max(dev.size_bytes - 1024**2 * 110, 0)),
                         "0", "part", "/"))
            rows.append((f"├─{name}14", "8:14", "0", "4M", "0", "part", ""))
            rows.append((f"└─{name}15", "8:15", "0", "106M", "0", "part", "/boot/efi"))
        disk_letter += 1
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        " ".join(col.ljust(widths[i]) if i in (0, 5, 6) else col.rjust(widths[i]) for i, col in enumerate(r)).rstrip()
        for r in rows
    )


def _free(s: GuestSession, args):
    total = s.facts.memory_bytes
    used, cache = total // 10, total // 8
    free = total - used - cache

    def fmt(n):
        if "-h" not in args:
            return str(n // 1024)
        value, units = float(n), ["B", "Ki", "Mi", "Gi", "Ti"]
        i = 0
        while value >= 1024 and i < len(units) - 1:
            value /= 1024
            i += 1
        return f"{value:.1f}{units[i]}" if value < 10 and i else f"{value:.0f}{units[i]}"

    header = " " * 15 + "".join(h.rjust(12) for h in ("total", "used", "free", "shared", "buff/cache", "available"))
    mem = "Mem:".ljust(15) + "".join(fmt(v).rjust(12) for v in (total, used, free, 1024**2, cache, free + cache))
    swap = "Swap:".ljust(15) + "".join(fmt(0).rjust(12) for _ in range(3))
    return "\n".join((header, mem, swap))


def _cat(s: GuestSession, args):
    f = s.facts
    files = {
        "/etc/hostname": f.hostname,
        "/etc/os-release": "\n".join([
            f'PRETTY_NAME="{f.os_pretty_name}"',
            f'NAME="{f.os_id.capitalize()}"',
            f'VERSION_ID="{f.os_version_id}"',
            f'VERSION="{f.os_version}"',
            f"ID={f.os_id}",
            "ID_LIKE=debian" if f.os_id == "ubuntu" else f"ID_LIKE={f.os_id}",
        ]),
    }
    out = []
    for path in args:
        out.append(files.get(path, f"cat: {path}: No such file or directory"))
    return "\n".join(out)


def _yes(s: GuestSession, args):
    s.flood = (" ".join(args) or "y") + "\r\n"
    return ""


def _power_off(s: GuestSession, args):
    if s.user != "root" and not s._sudo:
        return "Call to PowerOff failed: Access denied"
    if s.on_power_off is not None:
        s.on_power_off()
    return "Powering off..."


def _privileged(s: GuestSession) -> bool:
    return s.user == "root" or s._sudo


def _reboot(s: GuestSession, args):
    """A reboot from inside: systemd goes down, the kernel restarts the machine, the serial line drops."""
    if not _privileged(s):
        return "Call to Reboot failed: Access denied"
    lines = ["[  OK  ] Stopped target multi-user.target - Multi-User System.",
             "[  OK  ] Reached target shutdown.target - System Shutdown.",
             "[  OK  ] Finished systemd-reboot.service - System Reboot.",
             "[  152.204716] reboot: Restarting system"]
    s.state, s.user, s._line = "login", None, ""
    s._booted = False  # whoever attaches next sees the boot log and a fresh login prompt
    s.hang_up = True
    if s.on_reboot is not None:
        s.on_reboot()
    return "\n".join(lines)


def _shutdown(s: GuestSession, args):
    if "-c" in args:
        return "" if _privileged(s) else "Failed to cancel shutdown: Access denied"
    if "-r" in args or "--reboot" in args:
        return _reboot(s, args)
    return _power_off(s, args)  # -h, -P, --poweroff, now, +0: the machine powers off


def _systemctl(s: GuestSession, args):
    verbs = [a for a in args if not a.startswith("-")]
    if not verbs:
        return "systemctl: missing verb"
    verb, units = verbs[0], [u.removesuffix(".service") for u in verbs[1:]]
    if verb == "poweroff":
        return _power_off(s, args)
    if verb == "reboot":
        return _reboot(s, args)
    if verb in ("start", "enable", "restart", "daemon-reload", "status", "is-active"):
        if verb == "daemon-reload":
            return "" if _privileged(s) else "Failed to reload daemon: Access denied"
        agent = "qemu-guest-agent" in units
        if agent and not s.facts.agent_installed:
            return "Unit qemu-guest-agent.service could not be found." if verb in ("status", "is-active") else \
                f"Failed to {verb} qemu-guest-agent.service: Unit qemu-guest-agent.service not found."
        if verb in ("status", "is-active"):
            return "active" if verb == "is-active" else "● qemu-guest-agent.service - QEMU Guest Agent\n" \
                "     Active: active (running)"
        if not _privileged(s):
            return f"Failed to {verb} {' '.join(verbs[1:])}: Access denied"
        if agent and (verb != "enable" or "--now" in args) and s.on_agent is not None:
            s.on_agent()
        return ""
    return f'Unknown command verb "{verb}".' if verb not in ("stop", "disable") else ""


def _install(s: GuestSession, args):
    """`apt install` / `apt-get install` / `yum install` / `dnf install`: only qemu-guest-agent matters here."""
    if not args or args[0] != "install":
        return ""
    if not _privileged(s):
        return "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)"
    packages = [a for a in args[1:] if not a.startswith("-")]
    out = []
    for package in packages:
        out.append(f"Setting up {package} ...")
        if package == "qemu-guest-agent":
            s.facts.agent_installed = True
    return "\n".join(out)


def _sysrq(s: GuestSession, line: str) -> str:
    """Magic SysRq: `echo c > /proc/sysrq-trigger` panics the kernel, `b` reboots, `o` powers off."""
    privileged = _privileged(s) or "sudo tee" in line or line.lstrip().startswith("sudo ")
    if not privileged:
        return "-bash: /proc/sysrq-trigger: Permission denied"
    key = line.split("echo", 1)[1].strip()[:1] if "echo" in line else ""
    if key == "b":
        return _reboot(s, [])
    if key == "o":
        s._sudo = True
        try:
            return _power_off(s, [])
        finally:
            s._sudo = False
    if key != "c":
        return ""
    s.crashed = True
    if s.on_crash is not None:
        s.on_crash("the guest kernel panicked: sysrq triggered crash")
    return "\n".join([
        "[  152.204716] sysrq: Trigger a crash",
        "[  152.204790] Kernel panic - not syncing: sysrq triggered crash",
        f"[  152.204857] CPU: 0 PID: 1312 Comm: bash Not tainted {s.facts.kernel} #45-Ubuntu",
        "[  152.205113] ---[ end Kernel panic - not syncing: sysrq triggered crash ]---",
    ])


def _sudo(s: GuestSession, args):
    if not args:
        return "usage: sudo command"
    s._sudo = True
    try:
        return s.run(" ".join(args)).removesuffix("\r\n").replace("\r\n", "\n")
    finally:
        s._sudo = False


def _clear(s: GuestSession, args):
    return "\x1b[H\x1b[2J\x1b[3J"


_COMMANDS = {
    "hostname": _hostname,
    "whoami": _whoami,
    "id": _id,
    "nproc": _nproc,
    "pwd": _pwd,
    "uname": _uname,
    "echo": _echo,
    "ip": _ip,
    "lsblk": _lsblk,
    "getent": _getent,
    "nslookup": _nslookup,
    "free": _free,
    "cat": _cat,
    "clear": _clear,
    "yes": _yes,
    "true": lambda s, a: "",
    "poweroff": _power_off,
    "sudo": _sudo,
    "reboot": _reboot,
    "shutdown": _shutdown,
    "systemctl": _systemctl,
    "apt": _install,
    "apt-get": _install,
    "yum": _install,
    "dnf": _install,
}
