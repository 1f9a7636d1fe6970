"""Mosquitto as the network's broker (``exchange: {broker: mosquitto}``), locked like the embedded
one.

``ecert up`` writes, under the private state directory (0700, files 0600):

    <state>/mosquitto/mosquitto.conf   one listener on exchange host:port, ``allow_anonymous false``
    <state>/mosquitto/passwd           every node's login, hashed by ``mosquitto_passwd -U``
                                       (PBKDF2-SHA512, Mosquitto's own format)
    <state>/mosquitto/acl              per-user ``topic write``/``topic read`` lines: the same
                                       topic ACLs as the embedded broker (``exchange_access``)

and runs ``mosquitto -c <state>/mosquitto/mosquitto.conf``; it is ready once it logs that it is
running. Mosquitto grants any subscription but delivers only what the ACL lets a user read, and
drops (yet acknowledges) a publish the ACL does not allow: a node still gets nothing that is not
addressed to it and cannot write where it must not.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from gateway.control.errors import LauncherError
from gateway.control.exchange_access import ExchangeAccess, exchange_access, exchange_password
from gateway.control.state import StateDir, private_dir, write_private
from gateway.core.topology import Topology

CONFIG_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
READY_LINE = " running"  # "mosquitto version 2.0.11 running", once it listens
HASH_WITHIN = 30.0  # seconds for mosquitto_passwd to hash every login


def mosquitto_binary(name: str = "mosquitto") -> str:
    """The path of ``mosquitto`` (or ``mosquitto_passwd``), also in /usr/sbin when not on PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise LauncherError(f"{name} is not installed (Debian: apt-get install mosquitto)")
    return found


def mosquitto_command(state: StateDir, topology: Topology) -> list[str]:
    """Write the files of the network's Mosquitto; the command that runs it."""
    secret = state.link_secret()
    config = write_mosquitto_files(
        state.mosquitto_dir,
        host=topology.exchange.host,
        port=topology.exchange.port,
        passwords={node.id: exchange_password(secret, node.id) for node in topology.nodes},
        access=exchange_access(topology, secret),
    )
    return [mosquitto_binary(), "-c", str(config)]


def mosquitto_ready(line: str) -> bool:
    return line.endswith(READY_LINE)


def acl_text(access: ExchangeAccess) -> str:
    """The ACL file: each user writes and reads the topics the embedded broker allows it."""
    lines: list[str] = []
    for user in access.users:
        lines.append(f"user {user}")
        lines += [f"topic write {topic}" for topic in access.publish.get(user, [])]
        lines += [f"topic read {topic}" for topic in access.subscribe.get(user, [])]
        lines.append("")
    return "\n".join(lines)


def config_text(host: str, port: int, directory: Path) -> str:
    return "\n".join(
        [
            f"listener {port} {host}",
            "allow_anonymous false",
            f"password_file {directory / PASSWORD_FILE}",
            f"acl_file {directory / ACL_FILE}",
            # run as root, Mosquitto would become the user ``mosquitto``, who cannot read the
            # 0600 files above; as anyone else this line changes nothing
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "persistence false",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "",
        ]
    )


def write_mosquitto_files(
    directory: Path, *, host: str, port: int, passwords: Mapping[str, str], access: ExchangeAccess
) -> Path:
    """Write the configuration, the hashed password file and the ACL file; the config's path."""
    private_dir(directory)
    password_file = directory / PASSWORD_FILE
    write_private(password_file, "".join(f"{u}:{p}\n" for u, p in passwords.items()).encode())
    _hash_passwords(password_file)
    write_private(directory / ACL_FILE, acl_text(access).encode())
    config = directory / CONFIG_FILE
    write_private(config, config_text(host, port, directory).encode())
    return config


def _hash_passwords(path: Path) -> None:
    """Replace the plain ``user:password`` lines by Mosquitto's hashes, in place."""
    command = [mosquitto_binary("mosquitto_passwd"), "-U", str(path)]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=HASH_WITHIN)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        path.unlink(missing_ok=True)  # never leave the passwords in clear
        raise LauncherError(f"mosquitto_passwd could not hash the logins: {exc}") from exc
