# -*- coding: utf-8 -*-
"""Table-driven tests for plugins/module_utils/_envfile.py: parsing, resolving, rendering and diff listings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import string

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _envfile as ef

SECRET = "s3cr3t-Value"  # must never show up in a message or a diff
HEADER_LINE = "# " + ef.DEFAULT_HEADER


def fixed(*values):
    """A generator returning the given values in turn, recording the lengths asked for."""
    pending = list(values)
    fixed.lengths = []

    def generate(length):
        fixed.lengths.append(length)
        return pending.pop(0)
    return generate


# --------------------------------------------------------------------------- parsing

@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=1\n", {"A": "1"}),
        ("A='x y'\n", {"A": "x y"}),
        ('A="x y"\n', {"A": "x y"}),
        ('A="say \\"hi\\" \\\\ ok"\n', {"A": 'say "hi" \\ ok'}),
        ("export A=1\nexport  B='2'\n", {"A": "1", "B": "2"}),
        ("# comment\n\n   \n  # indented comment\nA=1", {"A": "1"}),
        ("A=\nB=''\nC=\"\"\n", {"A": "", "B": "", "C": ""}),
        ("A=x=y\n", {"A": "x=y"}),
        ("A='${B} $C'\n", {"A": "${B} $C"}),
        ("A = spaced \n", {"A": "spaced"}),
        ("A=value # comment\nB='v' # c\nC=a#b\n", {"A": "value", "B": "v", "C": "a#b"}),
        ("A=1\r\nB='2'\r\n", {"A": "1", "B": "2"}),
        ("A=1\nB=2\nA=3\n", {"B": "2", "A": "3"}),
        ("", {}),
    ],
    ids=["plain", "single", "double", "double-escapes", "export", "comments-blanks-no-newline", "empty",
         "equals-in-value", "dollar-kept", "spaces", "inline-comments", "crlf", "last-wins", "empty-file"],
)
def test_parse_env(text, expected):
    assert ef.parse_env(text) == expected


def test_parse_env_keeps_file_order():
    assert list(ef.parse_env("Z=1\nA=2\nM=3\n")) == ["Z", "A", "M"]


@pytest.mark.parametrize(
    "text, line",
    [
        ("A=1\n%s\n" % SECRET, 2),
        ("# c\n\nA=1\nB=2\n  %s  \n" % SECRET, 5),
        ("A=1\n%s-x=1\n" % SECRET, 2),
        ("A='%s\n" % SECRET, 1),
        ("A=1\nB=\"%s\n" % SECRET, 2),
        ("A='%s' trailing\n" % SECRET, 1),
    ],
    ids=["no-equals", "no-equals-after-blanks", "bad-name", "open-single", "open-double", "text-after-quote"],
)
def test_parse_errors_name_the_line_not_the_content(text, line):
    with pytest.raises(ef.EnvFileError) as exc:
        ef.parse_env(text)
    assert str(exc.value).startswith("line %d" % line)
    assert SECRET not in str(exc.value)


# --------------------------------------------------------------------------- generation

@pytest.mark.parametrize("length", [16, 32, 64])
def test_generate_secret_length_and_alphabet(length):
    value = ef.generate_secret(length)
    assert len(value) == length
    assert set(value) <= set(string.ascii_letters + string.digits)


def test_generate_secret_default_length_and_randomness():
    first, second = ef.generate_secret(), ef.generate_secret()
    assert len(first) == len(second) == ef.DEFAULT_LENGTH == 32
    assert first != second


def test_generate_secret_uses_the_secrets_module(monkeypatch):
    calls = []
    monkeypatch.setattr(ef._secrets, "choice", lambda seq: calls.append(seq) or "x")
    assert ef.generate_secret(20) == "x" * 20
    assert calls == [ef.ALPHABET] * 20


def test_resolve_generates_with_the_given_length():
    final, report = ef.resolve({"A": {}, "B": {"length": 40}, "C": None, "D": {"length": "20"}},
                               generator=fixed("a", "b", "c", "d"))
    assert final == {"A": "a", "B": "b", "C": "c", "D": "d"}
    assert fixed.lengths == [32, 40, 32, 20]
    assert report == {"generated": ["A", "B", "C", "D"], "kept": [], "overridden": [], "removed": []}


def test_resolve_real_generation():
    final, report = ef.resolve({"A": {}, "B": {"length": 16}})
    assert len(final["A"]) == 32 and len(final["B"]) == 16
    assert report["generated"] == ["A", "B"]


# --------------------------------------------------------------------------- keep, override

def test_resolve_keeps_existing_secrets():
    final, report = ef.resolve({"A": {}, "B": {"value": ""}, "C": {"value": None}},
                               existing={"A": "old-a", "B": "old-b", "C": "old-c"}, generator=fixed())
    assert final == {"A": "old-a", "B": "old-b", "C": "old-c"}
    assert report == {"generated": [], "kept": ["A", "B", "C"], "overridden": [], "removed": []}


def test_resolve_regenerates_an_empty_existing_secret():
    final, report = ef.resolve({"A": {}}, existing={"A": ""}, generator=fixed("new"))
    assert final == {"A": "new"} and report["generated"] == ["A"] and report["kept"] == []


def test_resolve_user_value_wins():
    final, report = ef.resolve(
        {"CHANGED": {"value": "mine"}, "SAME": {"value": "same"}, "NEW": {"value": "fresh"}, "NUM": {"value": 42}},
        existing={"CHANGED": "theirs", "SAME": "same", "OLD": "x"}, generator=fixed())
    assert final == {"CHANGED": "mine", "SAME": "same", "NEW": "fresh", "NUM": "42"}
    assert report == {"generated": [], "kept": [], "overridden": ["CHANGED"], "removed": ["OLD"]}


def test_resolve_removed_in_file_order():
    _final, report = ef.resolve(values={"B": "1"}, existing={"Z": "1", "B": "2", "A": "3"})
    assert report["removed"] == ["Z", "A"]


# --------------------------------------------------------------------------- derived

def test_derived_url_encoding():
    final, _report = ef.resolve(
        {"POSTGRES_PASSWORD": {"value": "p@ss:w/rd?#%&$ +"}},
        {"POSTGRES_USER": "tay lor", "POSTGRES_DB": "db/1"},
        {"DATABASE_URL": "postgresql://${POSTGRES_USER:url}:${POSTGRES_PASSWORD:url}@postgres:5432/${POSTGRES_DB:url}",
         "RAW": "${POSTGRES_USER}|${POSTGRES_PASSWORD}|$POSTGRES_DB|$"})
    assert final["DATABASE_URL"] == "postgresql://tay%20lor:p%40ss%3Aw%2Frd%3F%23%25%26%24%20%2B@postgres:5432/db%2F1"
    assert final["RAW"] == "tay lor|p@ss:w/rd?#%&$ +|$POSTGRES_DB|$"
    assert list(final) == ["POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "DATABASE_URL", "RAW"]


def test_derived_url_encodes_a_single_quote():
    assert ef.render_derived("D", "${A:url}", {"A": "it's"}) == "it%27s"


def test_derived_uses_generated_and_kept_secrets():
    final, _report = ef.resolve({"A": {}, "B": {}}, derived={"D": "${A}-${B}"}, existing={"B": "kept"},
                                generator=fixed("gen"))
    assert final["D"] == "gen-kept"


@pytest.mark.parametrize(
    "derived, fragments",
    [
        ({"URL": "x${NOPE}y"}, ["derived.URL", "${NOPE}", "names no key"]),
        ({"URL": "${A:base64}"}, ["derived.URL", "${A:base64}", "unknown modifier"]),
        ({"URL": "${A:}"}, ["derived.URL", "${A:}", "unknown modifier ''"]),
        ({"URL": "${A:-default}"}, ["derived.URL", "${A:-default}", "unknown modifier '-default'"]),
        ({"URL": "${A:url}${}"}, ["derived.URL", "${}", "names no key"]),
        ({"OTHER": "${A}", "URL": "${OTHER}"}, ["derived.URL", "${OTHER}", "another derived key"]),
        ({"URL": "${A} ${B"}, ["derived.URL", "not closed"]),
    ],
    ids=["unknown-name", "unknown-modifier", "empty-modifier", "compose-default", "empty-name", "derived-of-derived", "unterminated"],
)
def test_derived_errors(derived, fragments):
    with pytest.raises(ef.EnvFileError) as exc:
        ef.resolve({"A": {"value": SECRET}}, derived=derived)
    message = str(exc.value)
    for fragment in fragments:
        assert fragment in message
    assert SECRET not in message


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize(
    "kwargs, fragments",
    [
        ({"secrets": {"1BAD": {}}}, ["secrets: invalid name '1BAD'"]),
        ({"values": {"MY-KEY": "x"}}, ["values: invalid name 'MY-KEY'"]),
        ({"derived": {"": "x"}}, ["derived: invalid name ''"]),
        ({"secrets": {"A": {}}, "values": {"A": "x"}, "derived": {"A": "y"}},
         ["A is defined more than once, in secrets and values and derived"]),
        ({"values": {"B": "x"}, "derived": {"B": "y"}}, ["B is defined more than once, in values and derived"]),
        ({"secrets": {"A": {"length": 15}}}, ["secrets.A.length: must be at least 16, got 15"]),
        ({"secrets": {"A": {"length": "many"}}}, ["secrets.A.length: must be an integer"]),
        ({"secrets": {"A": {"lenght": 20}}}, ["secrets.A: unknown key(s) lenght"]),
        ({"secrets": {"A": SECRET}}, ["secrets.A: must be a dict"]),
        ({"secrets": {"A": {"value": [SECRET]}}}, ["secrets.A.value: must be a string, got list"]),
        ({"values": {"A": True}}, ["values.A: must be a string, got bool"]),
        ({"derived": {"A": None}}, ["derived.A: must be a string, got NoneType"]),
    ],
    ids=["secret-name", "value-name", "empty-name", "dup-three", "dup-two", "short", "length-type",
         "unknown-key", "secret-not-dict", "value-type", "bool", "derived-none"],
)
def test_option_errors(kwargs, fragments):
    with pytest.raises(ef.EnvFileError) as exc:
        ef.resolve(generator=fixed(), **kwargs)
    for fragment in fragments:
        assert fragment in str(exc.value)
    assert SECRET not in str(exc.value)


def test_all_name_errors_reported_together():
    with pytest.raises(ef.EnvFileError) as exc:
        ef.resolve({"1A": {}}, {"B-": "x"})
    assert len(exc.value.problems) == 2


@pytest.mark.parametrize("bad, label", [("'", "a single quote"), ("\n", "a newline"), ("\r", "a carriage return"),
                                        ("\0", "a NUL character")],
                         ids=["quote", "newline", "cr", "nul"])
@pytest.mark.parametrize("where", ["secrets", "values", "kept", "derived"])
def test_bad_characters_rejected_naming_the_key_only(bad, label, where):
    value = SECRET + bad + SECRET
    kwargs = {"secrets": {}, "values": {}, "derived": {}, "existing": {}}
    if where == "secrets":
        kwargs["secrets"] = {"KEY": {"value": value}}
    elif where == "values":
        kwargs["values"] = {"KEY": value}
    elif where == "kept":
        kwargs["secrets"] = {"KEY": {}}
        kwargs["existing"] = {"KEY": value}
    else:
        kwargs["derived"] = {"KEY": value}
    with pytest.raises(ef.EnvFileError) as exc:
        ef.resolve(generator=fixed(), **kwargs)
    message = str(exc.value)
    assert "KEY: the value contains %s" % label in message
    assert SECRET not in message and repr(bad)[1:-1] not in message.replace(label, "")


def test_derived_with_a_raw_quote_rejected():
    with pytest.raises(ef.EnvFileError) as exc:
        ef.resolve(values={"A": "ok"}, derived={"D": "${A}'"})
    assert "derived.D: the value contains a single quote" in str(exc.value)


# --------------------------------------------------------------------------- rendering

def test_render_order_quotes_and_trailing_newline():
    final, _report = ef.resolve({"S2": {"value": "two"}, "S1": {"value": "one"}}, {"V2": "b", "V1": "${not} $x"},
                                {"D2": "${S1}", "D1": "${V2}"})
    assert ef.render(final) == (
        HEADER_LINE + "\n"
        "S2='two'\nS1='one'\nV2='b'\nV1='${not} $x'\nD2='one'\nD1='b'\n")


def test_render_header_options():
    assert ef.render({"A": "1"}, header="") == "A='1'\n"
    assert ef.render({"A": "1"}, header="hello") == "# hello\nA='1'\n"
    assert ef.render({}, header="") == ""
    with pytest.raises(ef.EnvFileError):
        ef.render({"A": "1"}, header="two\nlines")


def test_render_roundtrips_through_parse():
    final = {"A": "x y", "B": "", "C": "a#b $c ${d} \"e\" \\f", "D": "=="}
    assert ef.parse_env(ef.render(final)) == final


# --------------------------------------------------------------------------- build and diff

def test_build_first_run_then_idempotent():
    first = ef.build({"P": {}}, {"U": "u"}, {"URL": "${U}:${P}"}, current=None, generator=fixed(SECRET))
    assert first["changed"] is True and first["generated"] == ["P"]
    assert first["content"] == HEADER_LINE + "\nP='%s'\nU='u'\nURL='u:%s'\n" % (SECRET, SECRET)
    assert first["diff"] == {"before": "", "after": HEADER_LINE + "\nP=<hidden>\nU=<hidden>\nURL=<hidden>\n"}
    second = ef.build({"P": {}}, {"U": "u"}, {"URL": "${U}:${P}"}, current=first["content"], generator=fixed())
    assert second["changed"] is False and second["content"] == first["content"]
    assert (second["generated"], second["kept"]) == ([], ["P"])
    assert second["diff"]["before"] == second["diff"]["after"]


def test_diff_contains_no_values_and_marks_changes():
    current = "# old header\nexport KEEP=\"%s\"\nSAME='%s'\nGONE='%s'\nCHANGE='%s'\n" % ((SECRET,) * 4)
    result = ef.build({"KEEP": {}, "SAME": {}, "CHANGE": {"value": "other"}, "NEW": {}},
                      current=current, generator=fixed("generated-" + SECRET))
    diff = result["diff"]
    assert diff["before"] == ("# <comment hidden>\nKEEP=<hidden, rewritten>\nSAME=<hidden>\nGONE=<hidden>\n"
                              "CHANGE=<hidden>\n")
    assert diff["after"] == (HEADER_LINE + "\nKEEP=<hidden>\nSAME=<hidden>\nCHANGE=<hidden, changed>\n"
                             "NEW=<hidden>\n")
    for text in diff.values():
        assert SECRET not in text and "other" not in text
    assert (result["kept"], result["overridden"], result["generated"], result["removed"]) == (
        ["KEEP", "SAME"], ["CHANGE"], ["NEW"], ["GONE"])


def test_diff_before_keeps_the_header_and_missing_final_newline():
    current = HEADER_LINE + "\n\nA='%s'" % SECRET
    assert ef.listing_before(current) == HEADER_LINE + "\n\nA=<hidden>"
    assert ef.listing_before(None) == ""
    assert ef.listing_before("") == ""


def test_diff_before_marks_rewritten_lines_of_kept_keys_only():
    assert ef.listing_before("A=1\nB=2\nC='3'\n", header="", wanted={"A": "1"}) == (
        "A=<hidden, rewritten>\nB=<hidden>\nC=<hidden>\n")
    assert ef.listing_before("A=1\n", header="") == "A=<hidden, rewritten>\n"


def test_build_rejects_unparsable_current_file_by_line_number():
    with pytest.raises(ef.EnvFileError) as exc:
        ef.build({"A": {}}, current="A=1\n\n%s\n" % SECRET, generator=fixed())
    assert str(exc.value) == "line 3 is neither a comment nor a KEY=value assignment"


def test_build_reformats_a_file_with_the_same_values():
    result = ef.build({"A": {}}, current="A=%s\n" % SECRET, generator=fixed())
    assert result["changed"] is True and result["kept"] == ["A"]
    assert result["content"] == HEADER_LINE + "\nA='%s'\n" % SECRET
