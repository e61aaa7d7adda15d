"""What a folder holds, to show that a refused call changed nothing in it."""

import hashlib
import os
import stat


def folder_state(folder):
    """Every entry under ``folder``: kind, mode, link target or size, modification time and content hash.

    A FIFO or other special file is described by its kind only (opening it could block)."""
    seen = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                seen[path] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                seen[path] = ("dir", info.st_mode)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                seen[path] = ("file", info.st_mode, info.st_size, info.st_mtime_ns, digest)
            else:
                seen[path] = ("other", stat.S_IFMT(info.st_mode))
    return seen
