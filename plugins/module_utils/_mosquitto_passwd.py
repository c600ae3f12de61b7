# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Idempotent Mosquitto 2.0 password files: verify the existing hashes, rehash only what changed.

Private to this collection. A password file holds one ``user:hash`` line per
user. Mosquitto salts every hash, so hashing the wanted passwords again on each
run would rewrite the file every time; instead each existing hash is *verified*
against the wanted password and its line kept byte for byte when it matches.

Hash formats (Mosquitto 2.0, ``mosquitto_passwd``), base64 standard with padding:

``$7$<iterations>$<salt>$<hash>``
    PBKDF2-HMAC-SHA512 of the password with the decoded salt, ``iterations``
    rounds, as many bytes as the decoded hash holds (64). The default of
    Mosquitto 2.0 and what :func:`hash_password` makes (101 rounds, 12 random
    salt bytes).
``$6$<salt>$<hash>``
    SHA-512 of the password bytes followed by the salt bytes (Mosquitto 1.6
    and ``mosquitto_passwd -H sha512``). Verified only, never generated.

Any other hash (plain text, another scheme, broken base64) never verifies: its
user gets a fresh hash. Passwords never appear in a message or a return value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import os
import re

DEFAULT_ITERATIONS = 101
SALT_BYTES = 12
HASH_BYTES = 64  # SHA-512 digest size, what mosquitto_passwd writes
DIGITS = re.compile(r"\A[0-9]+\Z")
FORBIDDEN_IN_PASSWORD = ("\n", "\r", "\0")


class PasswdError(ValueError):
    """A bad wanted user or password, or an unreadable password file. The message never holds a password."""


# --------------------------------------------------------------------------- hashes

def _b64decode(text):
    """Bytes of a standard base64 string with padding, None when it is not one."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        return None


def _b64encode(data):
    return base64.b64encode(data).decode("ascii")


def _password_bytes(password):
    return password.encode("utf-8") if not isinstance(password, bytes) else password


def hash_scheme(hashed):
    """'7' (PBKDF2-SHA512), '6' (salted SHA-512) or None (a format this module cannot verify)."""
    parts = hashed.split("$")
    if len(parts) == 5 and parts[:2] == ["", "7"]:
        return "7"
    if len(parts) == 4 and parts[:2] == ["", "6"]:
        return "6"
    return None


def verify_password(password, hashed):
    """True when the hash (text after ``user:``) is a $7$ or $6$ hash of the password; False otherwise.

    Malformed or unknown hashes give False, never an exception.
    """
    if not isinstance(hashed, str):
        return False
    scheme = hash_scheme(hashed)
    if scheme is None:
        return False
    parts = hashed.split("$")
    if scheme == "7":
        iterations = parts[2]
        if not DIGITS.match(iterations) or int(iterations) < 1:
            return False
        salt, digest = _b64decode(parts[3]), _b64decode(parts[4])
        if not salt or not digest:
            return False
        computed = hashlib.pbkdf2_hmac("sha512", _password_bytes(password), salt, int(iterations), len(digest))
    else:
        salt, digest = _b64decode(parts[2]), _b64decode(parts[3])
        if not salt or not digest or len(digest) != HASH_BYTES:
            return False
        computed = hashlib.sha512(_password_bytes(password) + salt).digest()
    return hmac.compare_digest(computed, digest)


def hash_password(password, iterations=DEFAULT_ITERATIONS, salt=None):
    """A fresh ``$7$<iterations>$<salt>$<hash>`` hash of the password (random 12-byte salt unless given)."""
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise PasswdError("iterations must be an integer >= 1, got %r" % (iterations,))
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", _password_bytes(password), salt, iterations, HASH_BYTES)
    return "$7$%d$%s$%s" % (iterations, _b64encode(salt), _b64encode(digest))


# --------------------------------------------------------------------------- validation

def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def user_problem(user, password):
    """Why a wanted user cannot be written (message naming the user, never the password), None if fine."""
    if not isinstance(user, str) or not user:
        return "users: user name %r must be a non-empty string" % (user,)
    if ":" in user or any(char.isspace() for char in user) or "\0" in user:
        return "users: user name %r must not contain ':', whitespace or NUL" % (user,)
    if not _encodable(user):
        return "users: user name %r is not valid UTF-8" % (user,)
    if user.startswith("#"):
        return "users: user name %r must not start with '#' (Mosquitto reads such a line as a comment)" % (user,)
    if not isinstance(password, str):
        return "users: password of user %r must be a string, got %s (quote it in YAML)" % (
            user, type(password).__name__)
    if not password:
        return "users: password of user %r is empty" % (user,)
    if any(char in password for char in FORBIDDEN_IN_PASSWORD):
        return "users: password of user %r contains a newline, carriage return or NUL character" % (user,)
    if not _encodable(password):
        return "users: password of user %r is not valid UTF-8" % (user,)
    return None


def validate_users(users):
    """Raise PasswdError listing every bad entry of the wanted users dict (user names only)."""
    if not isinstance(users, dict):
        raise PasswdError("users: must be a dict of user name to password, got %s" % type(users).__name__)
    problems = [problem for problem in (user_problem(user, users[user]) for user in sorted(users, key=str))
                if problem]
    if problems:
        raise PasswdError("; ".join(problems))


# --------------------------------------------------------------------------- password file

def parse_passwd(content):
    """Entries of a password file's content (bytes or text): list of dicts user, hash, line, lineno.

    ``line`` is the line as found, without its newline (bytes in, bytes out), so a
    kept entry is written back byte for byte. Blank lines and comment lines
    (first character ``#``, which Mosquitto ignores too) are skipped. A line that
    is not ``user:hash`` with a non-empty user without whitespace and a
    non-empty hash, or that is not UTF-8, raises PasswdError naming its line
    number but not its content (it might be a plain-text password).
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    entries = []
    for lineno, raw in enumerate(content.split(b"\n"), 1):
        if not raw.strip() or raw.startswith(b"#"):
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise PasswdError("line %d is not UTF-8" % lineno)
        user, sep, hashed = text.partition(":")
        if not sep or not user or any(char.isspace() for char in user) or not hashed:
            raise PasswdError("line %d is not 'user:hash'" % lineno)
        entries.append({"user": user, "hash": hashed, "line": raw, "lineno": lineno})
    return entries


def render_passwd(lines):
    """File content (bytes) of a {user: line bytes} dict: sorted by user, one line each, trailing newline."""
    return b"".join(lines[user] + b"\n" for user in sorted(lines))


def checksum(content):
    """sha256 hex digest of file content (bytes)."""
    return hashlib.sha256(content).hexdigest()


def plan_passwd(content, users, iterations=DEFAULT_ITERATIONS):
    """What the password file should hold for the wanted users, given its current content.

    ``content`` is the current file's bytes, or None when there is no file.
    Returns a dict:

    - ``content``: the wanted file content (bytes, sorted by user name);
    - ``changed``: True when it differs from ``content`` (always when there was no file);
    - ``added``, ``updated`` (password changed, or hash in an unknown format),
      ``removed``, ``unchanged``: sorted user names;
    - ``before_users``, ``after_users``: the user listings used for the diff
      (``alice``; ``bob (new password)``, ``carol (added)``), never hashes.

    A wanted user whose existing hash verifies the wanted password keeps its
    line byte for byte (whatever its iteration count); any other gets a fresh
    $7$ hash of ``iterations`` rounds. Users in the file but not wanted are
    dropped. A user listed twice in the file counts by its last line (the one
    Mosquitto 2.0 uses); the earlier lines are dropped.
    """
    validate_users(users)
    entries = parse_passwd(content) if content is not None else []
    current = {}
    for entry in entries:
        current[entry["user"]] = entry  # the last line wins, as in Mosquitto
    added, updated, unchanged = [], [], []
    lines = {}
    for user in sorted(users):
        entry = current.get(user)
        if entry is not None and verify_password(users[user], entry["hash"]):
            lines[user] = entry["line"]
            unchanged.append(user)
            continue
        lines[user] = ("%s:%s" % (user, hash_password(users[user], iterations))).encode("utf-8")
        (updated if entry is not None else added).append(user)
    removed = sorted(user for user in current if user not in users)
    new_content = render_passwd(lines)
    status = dict([(user, "new password") for user in updated] + [(user, "added") for user in added])
    return {
        "content": new_content,
        "changed": content is None or new_content != content,
        "added": added,
        "updated": updated,
        "removed": removed,
        "unchanged": unchanged,
        "before_users": "".join("%s\n" % user for user in sorted(current)),
        "after_users": "".join("%s%s\n" % (user, " (%s)" % status[user] if user in status else "")
                               for user in sorted(users)),
    }
