# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Build the content of a Docker Compose ``.env`` file that holds secrets.

Private to this collection; the logic behind the ``env_file`` module, free of
AnsibleModule so it can be unit-tested. Three dicts describe the wanted file:

* ``secrets``: NAME -> ``{value, length}``. The final value of a secret is the
  user-supplied ``value`` when it is given and non-empty, else the value the
  existing file already holds when that is non-empty, else a new random string
  of ``length`` (default 32, at least 16) ASCII letters and digits drawn with
  the ``secrets`` module.
* ``values``: NAME -> plain string, written as given.
* ``derived``: NAME -> template whose ``${OTHER}`` placeholders take the raw
  value of a secret or value and ``${OTHER:url}`` its percent-encoding
  (``urllib.parse.quote(value, safe='')``).

Every line is written ``KEY='value'``: Docker Compose does not interpolate
``${...}`` inside single-quoted values, so a value may hold any character but a
single quote, a newline, a carriage return or NUL (rejected).

No message raised here, nor any diff listing, ever contains a value: errors name
the key (``secrets.POSTGRES_PASSWORD``) or the line number of the existing file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import secrets as _secrets
import string

try:
    from urllib.parse import quote as _quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote as _quote

NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
ALPHABET = string.ascii_letters + string.digits
DEFAULT_LENGTH = 32
MIN_LENGTH = 16
SECRET_KEYS = ("value", "length")
DEFAULT_HEADER = ("Managed by Ansible (taylordash.ops.env_file): secrets are kept across runs; "
                  "edit the inventory, not this file.")
HIDDEN = "<hidden>"
CHANGED = "<hidden, changed>"
HIDDEN_COMMENT = "# <comment hidden>"
MODIFIERS = ("url",)  # after a colon; no colon means the raw value
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
EXPORT = re.compile(r"^export\s+")
FORBIDDEN = (("'", "a single quote"), ("\n", "a newline"), ("\r", "a carriage return"), ("\0", "a NUL character"))
_SINGLE = re.compile(r"^'([^']*)'\s*(?:#.*)?$")
_DOUBLE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$')
_DOUBLE_ESCAPE = re.compile(r"\\(.)")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


class EnvFileError(ValueError):
    """A problem with the options or the existing file; the message never contains a value."""

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super(EnvFileError, self).__init__("; ".join(self.problems))


# --------------------------------------------------------------------------- parsing

def _split_lines(text):
    """Lines of text split on \\n only (a trailing \\r stays on its line), without the final empty piece."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _parse_value(raw):
    """The value of the text after ``=``; None when a quote is not closed."""
    raw = raw.strip()
    if raw.startswith("'"):
        match = _SINGLE.match(raw)
        return match.group(1) if match else None
    if raw.startswith('"'):
        match = _DOUBLE.match(raw)
        if not match:
            return None
        return _DOUBLE_ESCAPE.sub(lambda m: _DOUBLE_ESCAPES.get(m.group(1), m.group(1)), match.group(1))
    comment = re.search(r"\s#", raw)  # unquoted: " #" starts an inline comment, as in Docker Compose
    return (raw[:comment.start()] if comment else raw).strip()


def parse_lines(text):
    """Entries of a .env text, one per line: dicts ``kind`` (blank, comment, assignment), ``line`` (1-based),
    ``raw`` (the line as written, without \\n), and for assignments ``name`` and ``value``.

    Accepts ``KEY=value``, ``KEY='value'``, ``KEY="value"`` and an ``export`` prefix. Raises
    EnvFileError naming the line number (never its content) for any other non-comment line.
    """
    entries = []
    for number, raw in enumerate(_split_lines(text), 1):
        line = raw.strip()
        if not line:
            entries.append({"kind": "blank", "line": number, "raw": raw})
            continue
        if line.startswith("#"):
            entries.append({"kind": "comment", "line": number, "raw": raw})
            continue
        name, has_equals, rest = EXPORT.sub("", line).partition("=")
        name = name.strip()
        if not has_equals:
            raise EnvFileError("line %d is neither a comment nor a KEY=value assignment" % number)
        if not NAME.match(name):
            raise EnvFileError("line %d: the variable name is not a valid name (^[A-Za-z_][A-Za-z0-9_]*$)" % number)
        value = _parse_value(rest)
        if value is None:
            raise EnvFileError("line %d: a quoted value is not closed, or has text after its closing quote" % number)
        entries.append({"kind": "assignment", "line": number, "raw": raw, "name": name, "value": value})
    return entries


def parse_env(text):
    """dict NAME -> value of a .env text, in file order; a name assigned twice keeps its last value."""
    values = {}
    for entry in parse_lines(text):
        if entry["kind"] == "assignment":
            values.pop(entry["name"], None)
            values[entry["name"]] = entry["value"]
    return values


# --------------------------------------------------------------------------- validation

def generate_secret(length=DEFAULT_LENGTH):
    """A cryptographically strong random string of ``length`` ASCII letters and digits."""
    return "".join(_secrets.choice(ALPHABET) for _ in range(length))


def value_problem(where, value):
    """A message naming ``where`` (never the value) when value cannot be written single-quoted, else None."""
    found = [label for char, label in FORBIDDEN if char in value]
    if not found:
        return None
    return ("%s: the value contains %s; values cannot contain single quotes, newlines, carriage returns "
            "or NUL characters" % (where, " and ".join(found)))


def _text(value, where, problems, allow_none=False):
    """value as text: str as is, int and float converted; None (when allowed) as ''; else a problem."""
    if value is None and allow_none:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    problems.append("%s: must be a string, got %s" % (where, type(value).__name__))
    return None


def _length(spec, where, problems):
    length = spec.get("length", DEFAULT_LENGTH)
    if length is None:
        return DEFAULT_LENGTH
    if isinstance(length, str) and length.strip().isdigit():
        length = int(length)
    if isinstance(length, bool) or not isinstance(length, int):
        problems.append("%s.length: must be an integer, got %s" % (where, type(length).__name__))
        return None
    if length < MIN_LENGTH:
        problems.append("%s.length: must be at least %d, got %d" % (where, MIN_LENGTH, length))
        return None
    return length


def normalize(secrets=None, values=None, derived=None):
    """Check the three option dicts; return (secrets, values, derived) normalized.

    secrets becomes NAME -> {'value': str or None (None when not supplied or empty), 'length': int},
    values NAME -> str (None as ''), derived NAME -> template str. Names must match NAME and be unique
    across the three dicts. Raises EnvFileError listing every problem, naming keys but never values.
    """
    sources = (("secrets", secrets or {}), ("values", values or {}), ("derived", derived or {}))
    problems = []
    seen = {}
    for label, mapping in sources:
        if not isinstance(mapping, dict):
            problems.append("%s: must be a dict, got %s" % (label, type(mapping).__name__))
            continue
        for name in mapping:
            if not isinstance(name, str) or not NAME.match(name):
                problems.append("%s: invalid name %r (must match ^[A-Za-z_][A-Za-z0-9_]*$)" % (label, name))
                continue
            seen.setdefault(name, []).append(label)
    for name, labels in seen.items():
        if len(labels) > 1:
            problems.append("%s is defined more than once, in %s (names must be unique across secrets, values "
                            "and derived)" % (name, " and ".join(labels)))
    if problems:
        raise EnvFileError(problems)

    out_secrets, out_values, out_derived = {}, {}, {}
    for name, spec in sources[0][1].items():
        where = "secrets.%s" % name
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            problems.append("%s: must be a dict with optional keys %s, got %s"
                            % (where, " and ".join(SECRET_KEYS), type(spec).__name__))
            continue
        unknown = sorted(set(spec) - set(SECRET_KEYS), key=str)
        if unknown:
            problems.append("%s: unknown key(s) %s (allowed: %s)"
                            % (where, ", ".join(str(key) for key in unknown), ", ".join(SECRET_KEYS)))
        value = _text(spec.get("value"), where + ".value", problems, allow_none=True)
        length = _length(spec, where, problems)
        out_secrets[name] = {"value": value or None, "length": length}
    for name, value in sources[1][1].items():
        out_values[name] = _text(value, "values.%s" % name, problems, allow_none=True)
    for name, template in sources[2][1].items():
        out_derived[name] = _text(template, "derived.%s" % name, problems)
    if problems:
        raise EnvFileError(problems)
    return out_secrets, out_values, out_derived


# --------------------------------------------------------------------------- resolving

def render_derived(name, template, known, derived_names=()):
    """The value of derived ``name``: template with ``${OTHER}`` and ``${OTHER:url}`` filled from ``known``.

    Raises EnvFileError naming the derived key and the placeholder for an unknown name or modifier,
    or an unterminated ``${``.
    """
    where = "derived.%s" % name

    def fill(match):
        body = match.group(1)
        other, colon, modifier = body.partition(":")
        placeholder = match.group(0)
        if colon and modifier not in MODIFIERS:
            raise EnvFileError("%s: placeholder %s has an unknown modifier %r (known: none, or :url)"
                               % (where, placeholder, str(modifier)))
        if other not in known:
            if other in derived_names:
                raise EnvFileError("%s: placeholder %s names another derived key; derived values may only "
                                   "use names from secrets and values" % (where, placeholder))
            raise EnvFileError("%s: placeholder %s names no key of secrets or values" % (where, placeholder))
        value = known[other]
        return _quote(value, safe="") if modifier == "url" else value

    pieces = []
    last = 0
    for match in PLACEHOLDER.finditer(template):
        if "${" in template[last:match.start()]:
            break
        pieces.append(template[last:match.start()])
        pieces.append(fill(match))
        last = match.end()
    if "${" in template[last:]:
        raise EnvFileError("%s: a placeholder ${ is not closed with }" % where)
    pieces.append(template[last:])
    return "".join(pieces)


def resolve(secrets=None, values=None, derived=None, existing=None, generator=generate_secret):
    """Final values and what happened to each secret.

    secrets, values and derived are the raw option dicts (checked with normalize()); existing is the
    parse_env() dict of the current file ({} when there is none). Returns (final, report): final is
    NAME -> value in render order (secrets, values, derived, each in given order); report has lists
    ``generated``, ``kept`` (secrets whose value comes from the file), ``overridden`` (secrets whose
    supplied value replaced a different non-empty value of the file) and ``removed`` (names of the
    file no longer wanted, in file order). Raises EnvFileError (naming keys, never values).
    """
    secrets, values, derived = normalize(secrets, values, derived)
    existing = existing or {}
    final = {}
    report = {"generated": [], "kept": [], "overridden": [], "removed": []}
    for name, spec in secrets.items():
        old = existing.get(name)
        if spec["value"] is not None:
            final[name] = spec["value"]
            if old and old != spec["value"]:
                report["overridden"].append(name)
        elif old:
            final[name] = old
            report["kept"].append(name)
        else:
            final[name] = generator(spec["length"])
            report["generated"].append(name)
    final.update(values)

    problems = []
    for name, value in final.items():
        problem = value_problem("%s.%s" % ("secrets" if name in secrets else "values", name), value)
        if problem:
            problems.append(problem)
    if problems:
        raise EnvFileError(problems)

    known = dict(final)
    for name, template in derived.items():
        value = render_derived(name, template, known, derived)
        problem = value_problem("derived.%s" % name, value)
        if problem:
            problems.append(problem)
        final[name] = value
    if problems:
        raise EnvFileError(problems)
    report["removed"] = [name for name in existing if name not in final]
    return final, report


# --------------------------------------------------------------------------- rendering

def header_line(header):
    """The ``# header`` comment line, or None for an empty header. Raises EnvFileError on a line break."""
    if not header:
        return None
    if "\n" in header or "\r" in header or "\0" in header:
        raise EnvFileError("header: must be a single line")
    return "# %s" % header


def line_for(name, value):
    """The line a key is written as."""
    return "%s='%s'" % (name, value)


def render(final, header=DEFAULT_HEADER):
    """The .env text: the header comment, then ``KEY='value'`` per key in the order of final; trailing newline.

    Raises EnvFileError (naming the key) for a value that cannot be single-quoted.
    """
    lines = []
    first = header_line(header)
    if first is not None:
        lines.append(first)
    for name, value in final.items():
        problem = value_problem(name, value)
        if problem:
            raise EnvFileError(problem)
        lines.append(line_for(name, value))
    return "\n".join(lines) + "\n" if lines else ""


# --------------------------------------------------------------------------- diff

def listing_before(text, header=DEFAULT_HEADER, wanted=None):
    """The existing file's text with every value hidden, for the diff; '' when there is no file (None).

    An assignment is ``KEY=<hidden>``, or ``KEY=<hidden, rewritten>`` when KEY stays (is in wanted, or
    wanted is None) but its line is not exactly how render() writes it (other quoting, ``export``,
    spaces); a comment is shown only when it is the current header line, else ``# <comment hidden>``;
    blank lines stay blank.
    """
    if text is None:
        return ""
    wanted_header = header_line(header)
    lines = []
    for entry in parse_lines(text):
        if entry["kind"] == "blank":
            lines.append("")
        elif entry["kind"] == "comment":
            lines.append(entry["raw"] if entry["raw"] == wanted_header else HIDDEN_COMMENT)
        elif entry["raw"] == line_for(entry["name"], entry["value"]) or (
                wanted is not None and entry["name"] not in wanted):
            lines.append("%s=%s" % (entry["name"], HIDDEN))
        else:
            lines.append("%s=<hidden, rewritten>" % entry["name"])
    listing = "\n".join(lines)
    return listing + "\n" if text.endswith("\n") and lines else listing


def listing_after(final, existing=None, header=DEFAULT_HEADER):
    """The new file's text with every value hidden, for the diff: ``KEY=<hidden>``, or
    ``KEY=<hidden, changed>`` for a key the existing file holds with another value."""
    existing = existing or {}
    lines = []
    first = header_line(header)
    if first is not None:
        lines.append(first)
    for name, value in final.items():
        changed = name in existing and existing[name] != value
        lines.append("%s=%s" % (name, CHANGED if changed else HIDDEN))
    return "\n".join(lines) + "\n"


def build(secrets=None, values=None, derived=None, header=DEFAULT_HEADER, current=None, generator=generate_secret):
    """Everything the module needs, from the options and the current file text (None when absent).

    Returns a dict: ``content`` (the new text), ``changed`` (content differs from current),
    ``values`` (final NAME -> value), ``generated``, ``kept``, ``overridden``, ``removed`` (see
    resolve()) and ``diff`` ({'before', 'after'} listings without values). Raises EnvFileError.
    """
    header_line(header)
    existing = parse_env(current) if current is not None else {}
    final, report = resolve(secrets, values, derived, existing, generator)
    content = render(final, header)
    result = dict(report, content=content, changed=content != current, values=final)
    result["diff"] = {"before": listing_before(current, header, final), "after": listing_after(final, existing, header)}
    return result
