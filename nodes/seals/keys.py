"""Seal private keys in the node's private state: ``<state>/<node>/seals/<SealID>.key``.

The directory is 0700 and each file 0600 (created exclusively, so a key is never overwritten),
holding the 32-byte SM2 private key as 64 hex digits. Keys never leave the node: not in the
database, the catalogue, a log line or an answer.
"""

from __future__ import annotations

import os
from pathlib import Path

from nodes.errors import SealError

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def key_path(node_dir: Path, seal_id: str) -> Path:
    return node_dir / "seals" / f"{seal_id}.key"


def write_private_key(node_dir: Path, seal_id: str, private_key: bytes) -> Path:
    path = key_path(node_dir, seal_id)
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.parent.chmod(PRIVATE_DIR)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        raise SealError(f"a private key for {seal_id} exists already") from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(private_key.hex() + "\n")
    return path


def read_private_key(node_dir: Path, seal_id: str) -> bytes:
    path = key_path(node_dir, seal_id)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise SealError(f"no usable private key for {seal_id} at {path}: {exc}") from None
