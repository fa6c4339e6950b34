"""What a guest learns from its cloud-init user data: users, passwords, hostname, installed agent."""

import base64
from dataclasses import dataclass

import yaml
from passlib.hash import md5_crypt, sha256_crypt, sha512_crypt

from dvpsim import kinds

_CRYPT_SCHEMES = {"$6$": sha512_crypt, "$5$": sha256_crypt, "$1$": md5_crypt}


@dataclass(frozen=True)
class GuestUser:
    name: str
    password_hash: str | None = None
    plain_password: str | None = None
    locked: bool = False

    def check_password(self, password: str) -> bool:
        if self.locked:
            return False
        if self.plain_password is not None:
            return password == self.plain_password
        if not self.password_hash:
            return False
        scheme = _CRYPT_SCHEMES.get(self.password_hash[:3])
        if scheme is None:
            return False
        try:
            return scheme.verify(password, self.password_hash)
        except ValueError:
            return False


def parse(user_data: str | None) -> dict:
    """The cloud-config document, or {} when the data is not cloud-config YAML (scripts, garbage)."""
    if not user_data:
        return {}
    try:
        doc = yaml.safe_load(user_data)
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def users(config: dict) -> dict[str, GuestUser]:
    found = {}
    for entry in config.get("users") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue  # "default" and other shorthands create no password login
        name = str(entry["name"])
        found[name] = GuestUser(
            name=name,
            password_hash=entry.get("passwd") or entry.get("hashed_passwd"),
            plain_password=entry.get("plain_text_passwd"),
            # cloud-init locks passwords by default; the simulator only honours an explicit lock.
            locked=_truthy(entry.get("lock_passwd", False)),
        )
    # A top-level `password:` is the default user's password.
    if config.get("password") and not found:
        found["ubuntu"] = GuestUser("ubuntu", plain_password=str(config["password"]))
    return found


def has_guest_agent(config: dict) -> bool:
    packages = config.get("packages") or []
    return any((p if isinstance(p, str) else (p[0] if p else "")) == "qemu-guest-agent" for p in packages)


def hostname(config: dict, default: str) -> str:
    return str(config.get("hostname") or default)


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def user_data_of(cluster, vm: dict) -> str:
    """The VM's cloud-init user data, inline or from its Secret (`userData` key)."""
    provisioning = vm.get("spec", {}).get("provisioning") or {}
    if provisioning.get("userData"):
        return provisioning["userData"]
    ref = provisioning.get("userDataRef") or {}
    if not ref.get("name"):
        return ""
    secret = cluster.store.get(kinds.get("Secret"), vm["metadata"]["namespace"], ref["name"]) or {}
    for key in ("userData", "userdata", "user-data"):
        if key in (secret.get("data") or {}):
            return base64.b64decode(secret["data"][key]).decode(errors="replace")
        if key in (secret.get("stringData") or {}):
            return secret["stringData"][key]
    return ""
