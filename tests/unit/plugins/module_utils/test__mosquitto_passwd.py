# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_mosquitto_passwd.py.

The hash samples come from the real ``mosquitto_passwd`` of Mosquitto 2.0.21
(Debian 13); the round trip against a real broker is in
tests/unit/plugins/modules/test_mosquitto_passwd.py (skipped without Docker).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _mosquitto_passwd as mp

# mosquitto_passwd -b file alice secret
REAL_7 = ("$7$101$KfCgmojizKB/mfvX$tidulGTdjyyV7cLOX6e+d4xlJ2iLKz5ABwPDkMPc5rTRaPva85DZslVNdV7jspkw"
          "+qHR8x3gNVA1CF9PzGCN9g==")
# mosquitto_passwd -H sha512 -b file b pw
REAL_6 = ("$6$srqnWoBI445I8Rfh$db2jXId6ime3wbFXU00TVGNbYDGMXFsF4F6YoX8cRlCFXrm4CRDV8j4d6iqqS89SEyaSPNE"
          "SkZm0X/32E5rWIg==")
HASH_7 = re.compile(r"^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$")


def six(password, salt=b"0123456789ab"):
    """A $6$ hash built by hand: SHA-512 of password bytes + salt bytes."""
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "$6$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def line(user, password, **kwargs):
    return ("%s:%s" % (user, mp.hash_password(password, **kwargs))).encode()


def lists(result):
    """(added, updated, removed, unchanged) of a result."""
    return tuple(result[key] for key in ("added", "updated", "removed", "unchanged"))


def users_of(content):
    return [entry["user"] for entry in mp.parse_passwd(content)]


# --------------------------------------------------------------------------- verify

@pytest.mark.parametrize(
    "password, hashed, expected",
    [
        ("secret", REAL_7, True),
        ("Secret", REAL_7, False),
        ("secret ", REAL_7, False),
        ("secre", REAL_7, False),
        ("", REAL_7, False),
        ("pw", REAL_6, True),
        ("pW", REAL_6, False),
        ("secret", REAL_6, False),
        ("six-pw", six("six-pw"), True),
        ("six-pw", six("six-pw", salt=b"\x00\xff" * 8), True),
        ("six-p", six("six-pw"), False),
        (u"pässwörd", six(u"pässwörd"), True),
    ],
    ids=["real7", "real7-case", "real7-trailing-space", "real7-prefix", "real7-empty", "real6",
         "real6-case", "real6-other", "six", "six-binary-salt", "six-wrong", "six-unicode"],
)
def test_verify_password(password, hashed, expected):
    assert mp.verify_password(password, hashed) is expected


@pytest.mark.parametrize(
    "hashed",
    [
        "",
        "secret",  # plain text, as before mosquitto_passwd -U
        REAL_7 + "\r",  # a CRLF file
        REAL_7.rstrip("="),  # no padding
        REAL_7.replace("$101$", "$0$"),
        REAL_7.replace("$101$", "$-1$"),
        REAL_7.replace("$101$", "$abc$"),
        REAL_7.replace("$7$", "$8$"),
        REAL_7 + "$extra",
        REAL_7.replace("KfCgmojizKB/mfvX", "Kf!gmojizKB/mfvX"),
        REAL_7.replace("KfCgmojizKB/mfvX", ""),
        "$7$101$KfCgmojizKB/mfvX$",
        "$6$srqnWoBI445I8Rfh$" + base64.b64encode(base64.b64decode(REAL_6.split("$")[3])[:32]).decode(),
        "$6$" + REAL_6.split("$")[3],
        "$5$rounds=5000$salt$hash",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        None,
    ],
    ids=["empty", "plain", "crlf", "unpadded", "iter0", "iter-negative", "iter-text", "scheme8", "extra-field",
         "bad-base64", "empty-salt", "empty-hash", "short6", "six-missing-salt", "sha256crypt", "argon2", "none"],
)
def test_unknown_or_broken_hashes_never_verify(hashed):
    assert mp.verify_password("secret", hashed) is False
    assert mp.verify_password("pw", hashed) is False


def test_hash_scheme():
    assert (mp.hash_scheme(REAL_7), mp.hash_scheme(REAL_6), mp.hash_scheme("secret")) == ("7", "6", None)


# --------------------------------------------------------------------------- generate

def test_generated_hash_matches_mosquitto_for_the_same_salt():
    salt = base64.b64decode(REAL_7.split("$")[3])
    assert mp.hash_password("secret", 101, salt=salt) == REAL_7


@pytest.mark.parametrize("password", ["secret", u"pässwörd €", "x" * 300, "with space:and$dollar"])
def test_generate_verify_round_trip(password):
    hashed = mp.hash_password(password)
    assert HASH_7.match(hashed), hashed
    _, _, iterations, salt, digest = hashed.split("$")
    assert (iterations, len(base64.b64decode(salt)), len(base64.b64decode(digest))) == ("101", 12, 64)
    assert mp.verify_password(password, hashed)
    assert not mp.verify_password(password + "x", hashed)


def test_generated_salts_are_random():
    hashes = set(mp.hash_password("secret") for _ in range(5))
    assert len(hashes) == 5
    assert len(set(h.split("$")[3] for h in hashes)) == 5


def test_iterations():
    hashed = mp.hash_password("secret", iterations=1000)
    assert hashed.startswith("$7$1000$") and mp.verify_password("secret", hashed)


@pytest.mark.parametrize("iterations", [0, -1, True, "101", 1.5])
def test_bad_iterations(iterations):
    with pytest.raises(mp.PasswdError, match="iterations"):
        mp.hash_password("secret", iterations=iterations)


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize(
    "users, fragment",
    [
        ({"": "pw-0001"}, "user name '' must be a non-empty string"),
        ({"a:b": "pw-0001"}, "user name 'a:b' must not contain ':'"),
        ({"a b": "pw-0001"}, "user name 'a b' must not contain"),
        ({"a\tb": "pw-0001"}, "user name 'a\\tb' must not contain"),
        ({"a\nb": "pw-0001"}, "user name 'a\\nb' must not contain"),
        ({"#alice": "pw-0001"}, "user name '#alice' must not start with '#'"),
        ({1: "pw-0001"}, "user name 1 must be a non-empty string"),
        ({"alice": ""}, "password of user 'alice' is empty"),
        ({"alice": "pw-0001\n"}, "password of user 'alice' contains a newline"),
        ({"alice": "pw-\r0001"}, "password of user 'alice' contains a newline"),
        ({"alice": "pw-\x000001"}, "password of user 'alice' contains a newline, carriage return or NUL"),
        ({"alice": 12345678}, "password of user 'alice' must be a string, got int"),
        ({"alice": None}, "password of user 'alice' must be a string, got NoneType"),
        ({"alice": u"pw-\udc800001"}, "password of user 'alice' is not valid UTF-8"),
    ],
    ids=["empty-name", "colon", "space", "tab", "newline-name", "hash-name", "int-name", "empty-password",
         "newline", "carriage-return", "nul", "int-password", "none-password", "surrogate"],
)
def test_bad_users_fail_naming_the_user_not_the_password(users, fragment):
    with pytest.raises(mp.PasswdError) as info:
        mp.validate_users(users)
    assert fragment in str(info.value)
    assert "pw-" not in str(info.value) and "12345678" not in str(info.value)
    with pytest.raises(mp.PasswdError):
        mp.plan_passwd(None, users)


def test_every_bad_user_is_reported():
    with pytest.raises(mp.PasswdError) as info:
        mp.validate_users({"a b": "pw-0001", "ok": "pw-0002", "bob": ""})
    assert "'a b'" in str(info.value) and "'bob'" in str(info.value) and "'ok'" not in str(info.value)


def test_users_must_be_a_dict():
    with pytest.raises(mp.PasswdError, match="must be a dict"):
        mp.validate_users(["alice"])


def test_good_users_pass():
    mp.validate_users({"alice": "secret", u"jürgen": u"pässwörd", "svc-1.x@y": "a b:c$d#"})


# --------------------------------------------------------------------------- parse

def test_parse_skips_blank_and_comment_lines_and_keeps_raw_lines():
    content = b"\n# a comment\nalice:" + REAL_7.encode() + b"\n   \nb:" + REAL_6.encode() + b"\r\nplain:secret"
    entries = mp.parse_passwd(content)
    assert [(e["user"], e["lineno"]) for e in entries] == [("alice", 3), ("b", 5), ("plain", 6)]
    assert entries[0]["line"] == b"alice:" + REAL_7.encode() and entries[0]["hash"] == REAL_7
    assert entries[1]["line"] == b"b:" + REAL_6.encode() + b"\r"
    assert entries[2]["hash"] == "secret"
    assert mp.parse_passwd(content.decode()) == entries


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"alice:x\nnocolon-s3cret\n", "line 2 is not 'user:hash'"),
        (b":x\n", "line 1 is not 'user:hash'"),
        (b"alice:\n", "line 1 is not 'user:hash'"),
        (b"\n\n a lice:x\n", "line 3 is not 'user:hash'"),
        (b"alice:x\n\xff\xfe:x\n", "line 2 is not UTF-8"),
    ],
    ids=["no-colon", "empty-user", "empty-hash", "space-in-user", "not-utf8"],
)
def test_parse_fails_naming_the_line_not_its_content(content, fragment):
    with pytest.raises(mp.PasswdError) as info:
        mp.parse_passwd(content)
    assert str(info.value) == fragment
    assert "s3cret" not in str(info.value)


# --------------------------------------------------------------------------- plan

def test_new_file():
    plan = mp.plan_passwd(None, {"carol": "c-pw", "alice": "secret", "bob": "b-pw"})
    assert plan["changed"] is True
    assert lists(plan) == (["alice", "bob", "carol"], [], [], [])
    assert users_of(plan["content"]) == ["alice", "bob", "carol"]
    assert plan["content"].endswith(b"\n") and not plan["content"].endswith(b"\n\n")
    for entry, password in zip(mp.parse_passwd(plan["content"]), ["secret", "b-pw", "c-pw"]):
        assert HASH_7.match(entry["hash"]) and mp.verify_password(password, entry["hash"])
    assert plan["before_users"] == ""
    assert plan["after_users"] == "alice (added)\nbob (added)\ncarol (added)\n"


def test_unchanged_users_keep_byte_identical_lines():
    content = b"".join(l + b"\n" for l in [
        b"alice:" + REAL_7.encode(), b"b:" + REAL_6.encode(), line("carol", "c-pw", iterations=1000),
        ("dave:" + six("d-pw")).encode()])
    plan = mp.plan_passwd(content, {"alice": "secret", "b": "pw", "carol": "c-pw", "dave": "d-pw"})
    assert plan["changed"] is False and plan["content"] == content
    assert plan["unchanged"] == ["alice", "b", "carol", "dave"]
    assert plan["added"] == plan["updated"] == plan["removed"] == []
    assert plan["before_users"] == plan["after_users"] == "alice\nb\ncarol\ndave\n"
    assert mp.plan_passwd(content, {"alice": "secret", "b": "pw", "carol": "c-pw", "dave": "d-pw"},
                          iterations=5000)["content"] == content


def test_password_change_rewrites_only_that_line():
    lines = [line("alice", "secret"), line("bob", "old-pw"), line("carol", "c-pw")]
    content = b"\n".join(lines) + b"\n"
    plan = mp.plan_passwd(content, {"alice": "secret", "bob": "new-pw", "carol": "c-pw"})
    assert plan["changed"] is True
    assert lists(plan) == ([], ["bob"], [], ["alice", "carol"])
    new_lines = plan["content"].split(b"\n")
    assert new_lines[0] == lines[0] and new_lines[2] == lines[2] and new_lines[3] == b""
    assert new_lines[1] != lines[1] and new_lines[1].startswith(b"bob:$7$101$")
    assert mp.verify_password("new-pw", new_lines[1].decode().split(":", 1)[1])
    assert plan["before_users"] == "alice\nbob\ncarol\n"
    assert plan["after_users"] == "alice\nbob (new password)\ncarol\n"


def test_add_and_remove():
    alice = line("alice", "secret")
    content = alice + b"\n" + line("bob", "b-pw") + b"\n"
    plan = mp.plan_passwd(content, {"alice": "secret", "carol": "c-pw"})
    assert lists(plan) == (["carol"], [], ["bob"], ["alice"])
    assert users_of(plan["content"]) == ["alice", "carol"]
    assert plan["content"].split(b"\n")[0] == alice
    assert plan["after_users"] == "alice\ncarol (added)\n"


def test_all_users_removed_gives_an_empty_file():
    plan = mp.plan_passwd(line("alice", "secret") + b"\n", {})
    assert (plan["content"], plan["changed"], plan["removed"]) == (b"", True, ["alice"])
    assert mp.plan_passwd(b"", {})["changed"] is False
    assert mp.plan_passwd(None, {})["changed"] is True


@pytest.mark.parametrize(
    "hashed",
    ["secret", REAL_7 + "\r", "$argon2id$v=19$x", "$7$101$KfCgmojizKB/mfvX$"],
    ids=["plain", "crlf", "argon2", "broken"],
)
def test_unknown_formats_get_a_fresh_hash(hashed):
    plan = mp.plan_passwd(("alice:" + hashed + "\n").encode(), {"alice": "secret"})
    assert plan["changed"] is True and plan["updated"] == ["alice"]
    assert mp.verify_password("secret", mp.parse_passwd(plan["content"])[0]["hash"])


def test_layout_only_changes_rewrite_with_the_same_lines():
    alice, bob = line("alice", "secret"), line("bob", "b-pw")
    wanted = {"alice": "secret", "bob": "b-pw"}
    for content in (bob + b"\n" + alice + b"\n",  # unsorted
                    alice + b"\n" + bob,  # no trailing newline
                    b"# managed\n" + alice + b"\n\n" + bob + b"\n"):  # comment and blank line
        plan = mp.plan_passwd(content, wanted)
        assert plan["changed"] is True and plan["unchanged"] == ["alice", "bob"]
        assert plan["content"] == alice + b"\n" + bob + b"\n"


def test_duplicate_user_counts_by_its_last_line_like_mosquitto():
    first, last = line("dup", "first"), line("dup", "second")
    plan = mp.plan_passwd(first + b"\n" + last + b"\n", {"dup": "second"})
    assert (plan["content"], plan["changed"], plan["unchanged"]) == (last + b"\n", True, ["dup"])
    plan = mp.plan_passwd(first + b"\n" + last + b"\n", {"dup": "first"})
    assert plan["updated"] == ["dup"] and plan["content"] not in (first + b"\n", last + b"\n")


def test_plan_does_not_leak_passwords():
    plan = mp.plan_passwd(line("bob", "old-pw-1") + b"\n", {"alice": "new-pw-1", "bob": "new-pw-2"})
    text = repr(plan)
    assert "new-pw" not in text and "old-pw" not in text
    assert "$" not in plan["before_users"] + plan["after_users"]


def test_malformed_file_fails():
    with pytest.raises(mp.PasswdError, match="line 2 is not 'user:hash'"):
        mp.plan_passwd(b"alice:x\nbroken\n", {"alice": "secret"})


def test_checksum():
    assert mp.checksum(b"") == hashlib.sha256(b"").hexdigest()
    assert mp.checksum(b"alice:x\n") == hashlib.sha256(b"alice:x\n").hexdigest()


def test_render_sorted_with_trailing_newline():
    assert mp.render_passwd({"b": b"b:2", "a": b"a:1"}) == b"a:1\nb:2\n"
    assert mp.render_passwd({}) == b""
