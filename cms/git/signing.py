"""Signing the CMS's own commits with an SSH key, so provenance is checkable with git alone.

With `CMS_SIGNING_KEY` naming an SSH private key file (no passphrase), every commit the CMS
writes carries a `gpgsig` header made by `ssh-keygen -Y sign`, exactly as `git commit -S` with
`gpg.format=ssh` makes it. `cms init` then records the key's public half as the CMS's allowed
signer (`<git dir>/cms/allowed_signers`) and points the repository's git config at it, so
`git log --show-signature` and `git verify-commit` say which commits the CMS really made.
Without the setting nothing is signed and nothing is run.
"""

from __future__ import annotations

import subprocess

from cms.errors import CMSError
from cms.git import private

NAMESPACE = "git"  # the namespace git signs and verifies commits in


def sign(payload: bytes, key: str) -> bytes:
    """Return the commit object bytes `payload` with its SSH signature as a `gpgsig` header
    (after the committer line, as git places it). Raises CMSError if ssh-keygen fails."""
    result = subprocess.run(["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-q", "-f", key],
                            input=payload, capture_output=True)
    if result.returncode != 0 or b"BEGIN SSH SIGNATURE" not in result.stdout:
        raise CMSError(f"Could not sign the commit with {key}: "
                       f"{result.stderr.decode('utf-8', 'replace').strip()}")
    lines = result.stdout.decode().strip().split("\n")
    header = ("gpgsig " + "\n ".join(lines) + "\n").encode()
    head, _, message = payload.partition(b"\n\n")
    return head + b"\n" + header.rstrip(b"\n") + b"\n\n" + message


def install(git_dir: str, email: str, key: str) -> str:
    """Record the public half of `key` as `email`'s signing key for this repository and point
    its git config at it; returns the allowed-signers file. Raises CMSError."""
    result = subprocess.run(["ssh-keygen", "-y", "-f", key], capture_output=True, text=True)
    if result.returncode != 0:
        raise CMSError(f"Could not read the signing key {key}: {result.stderr.strip()}")
    path = private.path(git_dir, "allowed_signers")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{email} namespaces="{NAMESPACE}" {result.stdout.strip()}\n')
    for name, value in (("gpg.format", "ssh"), ("gpg.ssh.allowedSignersFile", path)):
        subprocess.run(["git", "--git-dir", git_dir, "config", name, value], check=True)
    return path
