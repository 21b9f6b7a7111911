"""Signing the CMS's own commits with an SSH key, so provenance is checkable with git alone.

With `CMS_SIGNING_KEY` naming an SSH private key file (no passphrase), every commit the CMS
writes carries a `gpgsig` header made by `ssh-keygen -Y sign`, exactly as `git commit -S` with
`gpg.format=ssh` makes it. `cms init` then records the key's public half as the CMS's allowed
signer (`<git dir>/cms/allowed_signers`) and points the repository's git config at it, so
`git log --show-signature` and `git verify-commit` say which commits the CMS really made.
Without the setting nothing is signed and nothing is run.

A read replica given the public half (`--verify-signatures`) asks `unsigned` which of the
commits it fetched are not signed by it, before it serves them.
"""

from __future__ import annotations

import os
import subprocess

from cms.errors import CMSError
from cms.git import private

NAMESPACE = "git"  # the namespace git signs and verifies commits in


def sign(payload: bytes, key: str) -> bytes:
    """Return the commit object bytes `payload` with its SSH signature as a `gpgsig` header
    (after the committer line, as git places it). Raises CMSError if ssh-keygen fails."""
    result = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-q", "-f", key],
        input=payload,
        capture_output=True,
    )
    if result.returncode != 0 or b"BEGIN SSH SIGNATURE" not in result.stdout:
        raise CMSError(
            f"Could not sign the commit with {key}: "
            f"{result.stderr.decode('utf-8', 'replace').strip()}"
        )
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


def public_key(path: str) -> tuple[str, str]:
    """The public key in the file at `path` (a line `ssh-ed25519 AAAA... comment`, as a
    `.pub` file holds it), without its comment, and its fingerprint (`SHA256:...`).
    Raises CMSError for a missing or unreadable file, or a private key."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(100_000)
    except (OSError, UnicodeDecodeError) as e:
        raise CMSError(f"Cannot read the public key {path}: {e}.") from e
    if "PRIVATE KEY" in text:
        raise CMSError(
            f"{path} is a private key; give the public half (its .pub file): the "
            "private key stays on the primary."
        )
    result = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", path], capture_output=True, text=True
    )
    fields = result.stdout.split()
    lines = [
        line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    if result.returncode != 0 or len(fields) < 2 or len(lines) != 1 or len(lines[0]) < 2:
        raise CMSError(f"{path} is not an SSH public key (one line, as in a .pub file).")
    return " ".join(lines[0][:2]), fields[1]


def unsigned(git_dir: str, revisions: list[str], key: str) -> list[str]:
    """Of the commits `git log REVISIONS` lists (commit ids, `^` ids, `--no-walk`), those
    that do not carry a good signature by the public key in the file `key`, oldest first.
    Raises CMSError (see `public_key`)."""
    line, fingerprint = public_key(key)
    signers = private.path(git_dir, "verify_signers")
    wanted = f'primary namespaces="{NAMESPACE}" {line}\n'
    try:
        with open(signers, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current != wanted:
        tmp = f"{signers}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(wanted)
        os.replace(tmp, signers)
    # %G? is G only for a good signature by a key in the allowed signers, which hold just
    # this one; the fingerprint is checked as well, so nothing else in git's config counts
    result = subprocess.run(
        [
            "git",
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "--git-dir",
            git_dir,
            "log",
            "--no-show-signature",
            "--reverse",
            "--format=%H %G? %GF",
            *revisions,
            "--",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise CMSError(f"Could not check the signatures: {result.stderr.strip()}")
    bad = []
    for row in result.stdout.splitlines():
        sha, status, *found = row.split()
        if status != "G" or found != [fingerprint]:
            bad.append(sha)
    return bad
