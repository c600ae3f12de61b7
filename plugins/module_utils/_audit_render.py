# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Render a ``taylordash.audit/1`` report (docs/audit-design.md, "Report") as Markdown or as one
self-contained HTML page.

Private to this collection. Pure and standard library only: both functions take the report dict and
return text, the same bytes for the same report, whatever order its dicts were built in.

The Markdown follows the shape of the hand-written infrastructure audit: a title with the generation
time and the host(s), a summary of counts, then per host the critical issues, warnings, info, the
services in Docker and outside it, the port allocation, the environment (files holding secrets, by
path, line, key and fingerprint), the recommendations (one per distinct fix command, in severity
order), and last the changes since the previous report when the report carries a comparison.

The HTML page carries the same content with inline CSS only (no script, no external asset, and a
Content-Security-Policy that would block any), every text through ``html.escape``, and stable ids and
classes for browser tests: ``id="host-web1"``, ``class="finding critical"``, ``id="port-map-web1"``,
``id="placement-web1"``, ``id="secrets-web1"``, ``id="recommendations-web1"``, ``id="comparison"``,
``id="count-critical"``.

A report never holds a secret's value, only its fingerprint; the renderer still shows only the
fields it knows of a secret, and skips any other key whose name says value, secret, password or
token, so a value that slipped into a report would not reach a page.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html as _html
import json
import re

SCHEMA = "taylordash.audit/1"
SEVERITIES = ("critical", "warning", "info")
TITLE = "TaylorDash infrastructure audit"
# Section headings, in order (the Markdown and the HTML page use the same words).
SECTIONS = (
    "Summary",
    "Critical issues",
    "Warnings",
    "Info",
    "Services in Docker vs outside it",
    "Port allocation",
    "Environment",
    "Recommendations",
    "Changes since the previous report",
)
EMPTY = {
    "critical": "No critical issues.",
    "warning": "No warnings.",
    "info": "No info findings.",
}
HEADINGS = {"critical": "Critical issues", "warning": "Warnings", "info": "Info"}
FLAGGED_STATUSES = ("double-booked", "exposed")
# Keys of a location or of a listed item that are never shown: a report has no values, and if one
# slipped in (a schema violation) it still must not reach a page.
_HIDDEN_KEY = re.compile(r"value|secret|passw|token|credential", re.IGNORECASE)
_NAME_KEYS = ("name", "service", "app", "container", "process")
_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


# --------------------------------------------------------------------------- report access

def _check(report):
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        schema = report.get("schema") if isinstance(report, dict) else type(report).__name__
        raise ValueError("not a %s report (schema %r)" % (SCHEMA, schema))


def _hosts(report):
    """The host entries by name, in name order."""
    hosts = report.get("hosts") or {}
    return [(name, hosts[name] or {}) for name in sorted(hosts, key=str)]


def _severity_rank(severity):
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _findings(host):
    """A host's findings, sorted as the schema says (severity, category, id): a sort of a sorted list
    changes nothing, and an unsorted one renders the same bytes whatever order it came in."""
    findings = [f for f in (host.get("findings") or []) if isinstance(f, dict)]
    return sorted(findings, key=lambda f: (_severity_rank(f.get("severity")), str(f.get("category") or ""),
                                           str(f.get("id") or ""), str(f.get("title") or "")))


def _by_severity(findings, severity):
    return [f for f in findings if f.get("severity") == severity]


def _counts(summary, findings=None):
    """Counts per severity: the report's summary, or counted from the findings when it has none."""
    summary = summary if isinstance(summary, dict) else {}
    counts = {}
    for severity in SEVERITIES:
        value = summary.get(severity)
        if not isinstance(value, int) and findings is not None:
            value = len(_by_severity(findings, severity))
        counts[severity] = value if isinstance(value, int) else 0
    return counts


def _total_counts(report):
    summary = report.get("summary")
    if isinstance(summary, dict) and all(isinstance(summary.get(s), int) for s in SEVERITIES):
        counts = _counts(summary)
    else:
        counts = dict.fromkeys(SEVERITIES, 0)
        for _name, host in _hosts(report):
            for severity, value in _counts(host.get("summary"), _findings(host)).items():
                counts[severity] += value
    hosts = summary.get("hosts") if isinstance(summary, dict) else None
    counts["hosts"] = hosts if isinstance(hosts, int) else len(report.get("hosts") or {})
    return counts


def _slugs(names):
    """A unique, id-safe slug per name (``web1.example.com`` -> ``web1-example-com``)."""
    slugs, used = {}, set()
    for name in names:
        base = _SLUG.sub("-", str(name)).strip("-") or "x"
        slug, n = base, 1
        while slug in used:
            n += 1
            slug = "%s-%d" % (base, n)
        used.add(slug)
        slugs[name] = slug
    return slugs


def _str(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _plural(n, word, plural=None):
    return "%d %s" % (n, word if n == 1 else (plural or word + "s"))


# --------------------------------------------------------------------------- neutral pieces
# Each piece is a list of segments (text, is_code); the Markdown and HTML writers format them.

def _location(where):
    """Segments of one location: ``file:line`` key fingerprint, pid port, container, or anything else."""
    if not isinstance(where, dict):
        return [(_str(where), False)]
    segs, rest = [], dict(where)
    path = rest.pop("path", None)
    line = rest.pop("line", None)
    if path:
        segs.append(("%s:%s" % (path, line) if line not in (None, "") else str(path), True))
    elif line not in (None, ""):
        segs.append(("line %s" % line, False))
    for key, label in (("key", "key"), ("fingerprint", "fingerprint")):
        if rest.get(key) not in (None, ""):
            segs += [(label, False), (_str(rest.pop(key)), True)]
    pid = rest.pop("pid", None)
    if pid not in (None, ""):
        segs.append(("pid %s" % pid, False))
    port, address = rest.pop("port", None), rest.pop("address", None)
    if port not in (None, ""):
        segs.append(("port %s" % port, False))
        if address:
            segs.append(("on %s" % address, False))
    elif address:
        segs.append(("address %s" % address, False))
    for key in ("container", "image", "network", "project"):
        if rest.get(key) not in (None, ""):
            segs += [(key, False), (_str(rest.pop(key)), True)]
    for key in sorted(rest, key=str):
        if _HIDDEN_KEY.search(str(key)) or rest[key] in (None, "", [], {}):
            continue
        segs.append(("%s %s" % (key, _str(rest[key])), False))
    return segs


def _fix_key(fix):
    """What makes two fixes the same recommendation: their command, else playbook and variables."""
    if not isinstance(fix, dict):
        return None
    if fix.get("command"):
        return str(fix["command"])
    if fix.get("playbook"):
        return json.dumps({"playbook": fix["playbook"], "vars": fix.get("vars") or {}}, sort_keys=True)
    return None


def _fix_vars(fix):
    variables = fix.get("vars") if isinstance(fix, dict) else None
    if not isinstance(variables, dict):
        return []
    return ["%s=%s" % (k, v if isinstance(v, str) else json.dumps(v, sort_keys=True))
            for k, v in sorted(variables.items(), key=lambda kv: str(kv[0]))]


def _recommendations(findings):
    """One entry per distinct fix command, in the order of the first finding it fixes (findings are
    sorted by severity, so this is severity order): the fix, the findings it fixes, its playbook and the
    variables the fixes of those findings name (each ``key=value`` once, in the order first seen)."""
    entries, index = [], {}
    for finding in findings:
        fix = finding.get("fix")
        key = _fix_key(fix)
        if key is None:
            continue
        if key not in index:
            index[key] = len(entries)
            entries.append({"fix": fix, "findings": [], "playbook": fix.get("playbook") or "", "vars": []})
        entry = entries[index[key]]
        entry["findings"].append(finding)
        entry["playbook"] = entry["playbook"] or fix.get("playbook") or ""
        entry["vars"] += [v for v in _fix_vars(fix) if v not in entry["vars"]]
    return entries


def _recommendation_meta(entry):
    """Segments naming a recommendation's playbook and variables (nothing for a command of no playbook)."""
    if not entry["playbook"]:
        return []
    segs = [("playbook", False), (entry["playbook"], True), ("; variables", False)]
    if not entry["vars"]:
        return segs + [("none", False)]
    for n, var in enumerate(entry["vars"]):
        segs += [(var, True)] if n == len(entry["vars"]) - 1 else [(var, True), (",", False)]
    return segs


def _recommendation_counts(fixed):
    return ", ".join("%d %s" % (n, s) for s, n in ((s, len(_by_severity(fixed, s))) for s in SEVERITIES) if n)


def _item(item):
    """(name, detail text) of an entry of docker_vs_native: a string, or a dict shown by its name key,
    its ports and its other scalar or list fields."""
    if not isinstance(item, dict):
        return _str(item), ""
    rest = dict(item)
    name = ""
    for key in _NAME_KEYS:
        if rest.get(key) not in (None, ""):
            name = _str(rest.pop(key))
            break
    parts = []
    ports = rest.pop("ports", None)
    if ports not in (None, "", []):
        ports = ports if isinstance(ports, list) else [ports]
        parts.append("%s %s" % ("port" if len(ports) == 1 else "ports",
                                ", ".join(_str(p.get("port", p) if isinstance(p, dict) else p) for p in ports)))
    for key in sorted(rest, key=str):
        value = rest[key]
        if _HIDDEN_KEY.search(str(key)) or value in (None, "", [], {}) or isinstance(value, dict):
            continue
        if isinstance(value, list):
            value = ", ".join(_str(v) for v in value)
        parts.append("%s: %s" % (key, _str(value)))
    return name, "; ".join(parts)


def _placement(host):
    placement = host.get("docker_vs_native") or {}
    return ([_item(i) for i in placement.get("in_docker") or []],
            [_item(i) for i in placement.get("native") or []])


def _port_sort_key(row):
    port = row.get("port")
    return (port if isinstance(port, int) else 1 << 20, str(row.get("address") or ""),
            str(row.get("status") or ""), str(row.get("planned") or ""))


def _port_rows(host):
    return sorted((r for r in host.get("port_map") or [] if isinstance(r, dict)), key=_port_sort_key)


def _user(user):
    if not isinstance(user, dict):
        return _str(user)
    kind, name = user.get("type"), user.get("name")
    extra = [("%s %s" % (k, _str(v))) for k, v in sorted(user.items(), key=lambda kv: str(kv[0]))
             if k not in ("type", "name") and v not in (None, "", [], {}) and not _HIDDEN_KEY.search(str(k))]
    text = " ".join(_str(x) for x in (kind, name) if x not in (None, ""))
    return text + (" (%s)" % ", ".join(extra) if extra else "")


def _secret_rows(host):
    """Every secret a file holds, as (path, line, key, fingerprint, detector, known_default, mode,
    world_readable): from the facts' files, and from the locations of findings with a fingerprint.
    Only those fields: never anything else a secret entry might carry."""
    rows = {}
    facts = host.get("facts") if isinstance(host.get("facts"), dict) else {}
    for entry in facts.get("files") or []:
        if not isinstance(entry, dict):
            continue
        for secret in entry.get("secrets") or []:
            if not isinstance(secret, dict):
                continue
            row = (_str(entry.get("path")), _str(secret.get("line")), _str(secret.get("key")),
                   _str(secret.get("fingerprint")))
            rows[row] = (_str(secret.get("detector")), secret.get("known_default") is True,
                         _str(entry.get("mode")), entry.get("world_readable") is True)
    for finding in host.get("findings") or []:
        for where in (finding.get("where") or []) if isinstance(finding, dict) else []:
            if isinstance(where, dict) and where.get("fingerprint"):
                row = (_str(where.get("path")), _str(where.get("line")), _str(where.get("key")),
                       _str(where.get("fingerprint")))
                rows.setdefault(row, ("", False, "", False))

    def order(row):
        line = row[1]
        return (row[0], int(line) if line.isdigit() else 1 << 30, line, row[2], row[3])

    return [row + rows[row] for row in sorted(rows, key=order)]


def _repeated(secret_rows):
    """Fingerprints found in two or more files: [(fingerprint, [path:line, ...])]."""
    places = {}
    for path, line, _key, fingerprint in (r[:4] for r in secret_rows):
        if fingerprint:
            places.setdefault(fingerprint, []).append((path, line))
    return [(fp, ["%s:%s" % pl if pl[1] else pl[0] for pl in where])
            for fp, where in sorted(places.items()) if len({p for p, _l in where}) > 1]


def _docker_notes(host):
    """Short sentences about the host's Docker engine, from the facts."""
    facts = host.get("facts") if isinstance(host.get("facts"), dict) else {}
    docker = facts.get("docker")
    if not isinstance(docker, dict):
        return []
    if docker.get("available") is False:
        return ["No Docker engine answered on this host."]
    notes = []
    if docker.get("log_driver"):
        opts = docker.get("log_opts") or {}
        opts = ", ".join("%s %s" % (k, _str(v)) for k, v in sorted(opts.items(), key=lambda kv: str(kv[0])))
        notes.append("Log driver %s%s." % (docker["log_driver"], " (%s)" % opts if opts else " (no options)"))
    if "live_restore" in docker:
        notes.append("Live restore %s." % ("on" if docker.get("live_restore") else "off"))
    stopped = [s.get("name") if isinstance(s, dict) else s for s in docker.get("stopped_ours") or []]
    if stopped:
        notes.append("Stopped containers of ours: %s." % ", ".join(_str(s) for s in stopped))
    if isinstance(docker.get("dangling_images"), int):
        notes.append("%s." % _plural(docker["dangling_images"], "dangling image"))
    networks = docker.get("unused_networks_ours") or []
    if networks:
        notes.append("Unused networks of ours: %s." % ", ".join(_str(n) for n in networks))
    return notes


def _changes(report, host=None):
    """(previous_generated_at, appeared, disappeared) or None, limited to `host` when given."""
    comparison = report.get("comparison")
    if not isinstance(comparison, dict):
        return None

    def pick(entries):
        entries = [e for e in entries or [] if isinstance(e, dict) and (host is None or e.get("host") == host)]
        return sorted(entries, key=lambda e: (str(e.get("host") or ""), _severity_rank(e.get("severity")),
                                              str(e.get("id") or ""), str(e.get("title") or "")))

    return (_str(comparison.get("previous_generated_at")), pick(comparison.get("appeared")),
            pick(comparison.get("disappeared")))


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")
_MD_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_BLOCK_MARK = re.compile(r"^(\s*)([#+=-])")
_MD_BLOCK_NUMBER = re.compile(r"^(\s*)(\d+)([.)])")


def _lines(text):
    return _str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _md_text(text, cell=False, block=False):
    """Free text made literal: Markdown punctuation backslash-escaped (so ``<script>`` stays text);
    newlines become ``<br>`` in a table cell, else spaces. ``block``: the text starts a line (a
    paragraph), so it must not start a heading or a list either."""
    out = []
    for line in _lines(text):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        line = _MD_EDGE_UNDERSCORE.sub(r"\\_", line)
        out.append(line)
    text = ("<br>" if cell else " ").join(out)
    if block:
        text = _MD_BLOCK_MARK.sub(r"\1\\\2", text)
        text = _MD_BLOCK_NUMBER.sub(r"\1\2\\\3", text)
    return text


def _md_code(text, cell=False):
    """An inline code span that holds any text: a fence longer than any backtick run inside, newlines
    as spaces, and in a table cell pipes escaped (GFM splits cells at a pipe even in code)."""
    text = " ".join(_lines(text))
    run = max([len(r) for r in re.findall(r"`+", text)] or [0])
    fence = "`" * (run + 1)
    if cell:
        text = text.replace("|", "\\|")
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = " %s " % text
    return "%s%s%s" % (fence, text, fence) if text else ""


def _join(parts):
    """Segments joined by spaces, but none before a segment that starts with punctuation (``,`` ``;``)."""
    out = ""
    for text, code in parts:
        out += ("" if not out or (not code and text[:1] in ",;") else " ") + text
    return out


def _md_segments(segs, cell=False):
    return _join((_md_code(t, cell) if code else _md_text(t, cell), code) for t, code in segs if t != "")


def _md_table(header, rows):
    lines = ["| %s |" % " | ".join(header), "|%s|" % "|".join("---" for _ in header)]
    lines += ["| %s |" % " | ".join(cell if cell != "" else " " for cell in row) for row in rows]
    return lines


def _md_counts_table(counts):
    rows = [["Critical", str(counts["critical"])], ["Warning", str(counts["warning"])],
            ["Info", str(counts["info"])]]
    if "hosts" in counts:
        rows.append(["Hosts", str(counts["hosts"])])
    return _md_table(["Severity", "Count"], rows)


def _md_fix(fix):
    if not isinstance(fix, dict):
        return ""
    if fix.get("command"):
        return _md_code(fix["command"])
    parts = [_md_code(fix["playbook"])] if fix.get("playbook") else []
    parts += [_md_code(v) for v in _fix_vars(fix)]
    return " ".join(parts)


def _md_heading(text):
    """Heading text: escaped, and a trailing ``#`` kept (ATX headings drop a closing run of them)."""
    text = _md_text(text)
    return text[:-1] + "\\#" if text.endswith("#") else text


def _md_finding(number, finding, level):
    out = ["%s %d. %s" % ("#" * level, number, _md_heading(finding.get("title") or finding.get("id") or "finding")),
           ""]
    if finding.get("detail") not in (None, ""):
        out += [_md_text(finding["detail"], block=True), ""]
    out.append("- Category: %s; id %s" % (_md_text(finding.get("category") or "-"), _md_code(finding.get("id") or "-")))
    wheres = finding.get("where") or []
    if wheres:
        out.append("- Where:")
        out += ["  - %s" % _md_segments(_location(w)) for w in wheres]
    fix = _md_fix(finding.get("fix"))
    if fix:
        out.append("- Fix: %s" % fix)
    out.append("")
    return out


def _md_findings(findings, severity, level):
    out = ["%s %s" % ("#" * level, HEADINGS[severity]), ""]
    chosen = _by_severity(findings, severity)
    if not chosen:
        return out + [EMPTY[severity], ""]
    if severity == "info":
        rows = [[_md_text(f.get("category") or "", True), _md_text(f.get("title") or "", True),
                 _md_text(f.get("detail") or "", True),
                 "<br>".join(_md_segments(_location(w), True) for w in f.get("where") or [])]
                for f in chosen]
        return out + _md_table(["Category", "Finding", "Detail", "Where"], rows) + [""]
    for number, finding in enumerate(chosen, 1):
        out += _md_finding(number, finding, level + 1)
    return out


def _md_placement(host, level):
    in_docker, native = _placement(host)
    out = ["%s %s" % ("#" * level, SECTIONS[4]), ""]

    def listing(title, items, empty):
        lines = ["%s %s" % ("#" * (level + 1), title), ""]
        if not items:
            return lines + [empty, ""]
        for name, detail in items:
            lines.append("- **%s**%s" % (_md_text(name or "-"), " (%s)" % _md_text(detail) if detail else ""))
        return lines + [""]

    out += listing("In Docker", in_docker, "No services run in Docker.")
    out += listing("Outside Docker", native, "No services run outside Docker.")
    notes = _docker_notes(host)
    if notes:
        out += ["%s Docker engine" % ("#" * (level + 1)), ""] + ["- %s" % _md_text(n) for n in notes] + [""]
    return out


def _md_ports(host, level):
    out = ["%s %s" % ("#" * level, SECTIONS[5]), ""]
    rows = _port_rows(host)
    if not rows:
        return out + ["No ports in use or planned.", ""]
    table = []
    for row in rows:
        status = _str(row.get("status") or "")
        shown = _md_text(status, True)
        if status in FLAGGED_STATUSES:
            shown = "**%s** (!)" % shown
        table.append([_md_text(row.get("port"), True), _md_text(row.get("address") or "any", True),
                      "<br>".join(_md_text(_user(u), True) for u in row.get("users") or []) or "-",
                      _md_text(row.get("planned") or "-", True), shown])
    out += _md_table(["Port", "Address", "Users", "Planned as", "Status"], table) + [""]
    flagged = [r for r in rows if r.get("status") in FLAGGED_STATUSES]
    if flagged:
        out += ["Flagged: %s." % "; ".join("%s %s" % (_md_text(r.get("port")), _md_text(r.get("status")))
                                           for r in flagged), ""]
    return out


def _md_environment(host, findings, level):
    out = ["%s %s" % ("#" * level, SECTIONS[6]), ""]
    secrets = _secret_rows(host)
    if secrets:
        out += ["Files holding secrets (fingerprints only, never values):", ""]
        table = [[_md_code(path, True), _md_text(line, True), _md_code(key, True), _md_code(fp, True),
                  _md_text(detector, True), "yes" if known else "no",
                  _md_text(mode, True) + (" (readable by others)" if world else "")]
                 for path, line, key, fp, detector, known, mode, world in secrets]
        out += _md_table(["File", "Line", "Key", "Fingerprint", "Detector", "Known default", "Mode"], table) + [""]
    else:
        out += ["No secrets found in the scanned files.", ""]
    repeated = _repeated(secrets)
    if repeated:
        out += ["Credentials repeated across files:", ""]
        out += ["- %s in %s" % (_md_code(fp), ", ".join(_md_code(p) for p in places)) for fp, places in repeated]
        out.append("")
    config = [f for f in findings if f.get("category") == "configuration"]
    if config:
        out += ["Configuration findings:", ""]
        out += ["- %s: %s" % (_md_text(f.get("severity") or ""), _md_text(f.get("title") or f.get("id") or ""))
                for f in config]
        out.append("")
    return out


def _md_recommendations(findings, level):
    out = ["%s %s" % ("#" * level, SECTIONS[7]), ""]
    entries = _recommendations(findings)
    if not entries:
        return out + ["Nothing to do.", ""]
    for number, entry in enumerate(entries, 1):
        fix = entry["fix"]
        command = fix.get("command") or "ansible-playbook %s" % fix.get("playbook")
        meta = _md_segments(_recommendation_meta(entry))
        out.append("%d. Run %s%s: fixes %s." % (number, _md_code(command), " (%s)" % meta if meta else "",
                                                _recommendation_counts(entry["findings"])))
        out += ["   - %s: %s" % (_md_text(f.get("severity") or ""), _md_text(f.get("title") or f.get("id") or ""))
                for f in entry["findings"]]
    return out + [""]


def _md_changes(report, host, level):
    changes = _changes(report, host)
    if changes is None:
        return []
    previous, appeared, disappeared = changes
    out = ["%s %s" % ("#" * level, SECTIONS[8]), ""]
    out += ["Compared with the report of %s." % _md_text(previous or "an unknown time"), ""]
    for title, entries in (("Appeared", appeared), ("Disappeared", disappeared)):
        out += ["%s %s" % ("#" * (level + 1), title), ""]
        if not entries:
            out += ["Nothing %s." % title.lower(), ""]
            continue
        rows = [[_md_text(e.get("host") or "", True), _md_text(e.get("severity") or "", True),
                 _md_text(e.get("title") or "", True), _md_code(e.get("id") or "", True)] for e in entries]
        out += _md_table(["Host", "Severity", "Finding", "Id"], rows) + [""]
    return out


def _md_host(host, level):
    findings = _findings(host)
    out = []
    for severity in SEVERITIES:
        out += _md_findings(findings, severity, level)
    out += _md_placement(host, level)
    out += _md_ports(host, level)
    out += _md_environment(host, findings, level)
    out += _md_recommendations(findings, level)
    return out


def markdown(report, host=None):
    """The report as Markdown: the whole inventory (``host=None``: a summary row per host, then each
    host's sections) or the one host named. Raises ValueError for a report of another schema or a host
    it does not have."""
    _check(report)
    hosts = _hosts(report)
    generated = _str(report.get("generated_at")) or "an unknown time"
    if host is not None:
        entry = dict(hosts).get(host)
        if entry is None:
            raise ValueError("the report has no host %r (hosts: %s)" % (host, ", ".join(n for n, _h in hosts)))
        counts = _counts(entry.get("summary"), _findings(entry))
        out = ["# %s: %s" % (TITLE, _md_heading(host)), "",
               "Generated %s for host %s." % (_md_text(generated), _md_text(host)), "",
               "## Summary", ""]
        out += _md_counts_table(counts) + [""]
        out += _md_host(entry, 2)
        out += _md_changes(report, host, 2)
        return "\n".join(out).rstrip("\n") + "\n"

    counts = _total_counts(report)
    names = ", ".join(_md_text(n) for n, _h in hosts) or "none"
    label = _md_heading(hosts[0][0]) if len(hosts) == 1 else _plural(len(hosts), "host")
    out = ["# %s: %s" % (TITLE, label), "",
           "Generated %s for %s: %s." % (_md_text(generated), "host" if len(hosts) == 1 else "hosts", names), "",
           "## Summary", ""]
    out += _md_counts_table(counts) + [""]
    if hosts:
        rows = []
        for name, entry in hosts:
            c = _counts(entry.get("summary"), _findings(entry))
            rows.append([_md_text(name, True)] + [str(c[s]) for s in SEVERITIES])
        out += _md_table(["Host", "Critical", "Warning", "Info"], rows) + [""]
    else:
        out += ["No hosts in this report.", ""]
    for name, entry in hosts:
        out += ["## Host %s" % _md_heading(name), ""]
        out += _md_host(entry, 3)
    out += _md_changes(report, None, 2)
    return "\n".join(out).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
:root{--critical:#b91c1c;--critical-bg:#fee2e2;--warning:#92400e;--warning-bg:#fef3c7;
--info:#1e40af;--info-bg:#dbeafe;--ok:#166534;--ok-bg:#dcfce7;--line:#d1d5db;--muted:#4b5563}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:0 1.5rem 2rem;
color:#111827;background:#fff;line-height:1.45}
header{border-bottom:2px solid var(--line);padding:1rem 0}
h1{margin:.2rem 0;font-size:1.6rem}
h2{margin-top:2rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
h3{margin:1.4rem 0 .5rem}
.generated,.muted{color:var(--muted)}
ul.counts{list-style:none;display:flex;flex-wrap:wrap;gap:.6rem;padding:0;margin:.8rem 0}
ul.counts li{padding:.4rem .9rem;border-radius:.4rem;font-weight:600;border:1px solid var(--line)}
ul.counts .n{font-size:1.3rem;margin-right:.3rem}
.count.critical{background:var(--critical-bg);color:var(--critical)}
.count.warning{background:var(--warning-bg);color:var(--warning)}
.count.info{background:var(--info-bg);color:var(--info)}
.count.zero{background:var(--ok-bg);color:var(--ok)}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.92rem}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.8rem;font-weight:700;
text-transform:uppercase;color:#fff}
.badge.critical{background:var(--critical)}
.badge.warning{background:var(--warning)}
.badge.info{background:var(--info)}
tr.finding.critical td:first-child{border-left:4px solid var(--critical)}
tr.finding.warning td:first-child{border-left:4px solid var(--warning)}
tr.finding.info td:first-child{border-left:4px solid var(--info)}
.detail{margin-top:.2rem;white-space:pre-wrap}
.meta{color:var(--muted);font-size:.8rem}
ul.where{margin:0;padding-left:1rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;background:#f3f4f6;
padding:0 .2rem;border-radius:.2rem;overflow-wrap:anywhere}
tr.port.double-booked{background:var(--critical-bg)}
tr.port.exposed{background:var(--warning-bg)}
tr.port.off-plan{background:#f9fafb}
td.status{font-weight:600}
tr.port.double-booked td.status{color:var(--critical)}
tr.port.exposed td.status{color:var(--warning)}
tr.port.ok td.status{color:var(--ok)}
.placement{display:flex;flex-wrap:wrap;gap:2rem}
.placement>div{flex:1 1 20rem}
p.empty{color:var(--ok);font-weight:600}
tr.appeared td:first-child{border-left:4px solid var(--critical)}
tr.disappeared td:first-child{border-left:4px solid var(--ok)}
"""


def _e(value):
    return _html.escape(_str(value), quote=True)


def _h_code(text, cls=None):
    return "<code%s>%s</code>" % (' class="%s"' % cls if cls else "", _e(text))


def _h_segments(segs):
    return _join((_h_code(t) if code else _e(t), code) for t, code in segs if t != "")


def _h_fix(fix):
    if not isinstance(fix, dict):
        return '<span class="muted">-</span>'
    if fix.get("command"):
        return _h_code(fix["command"], "fix")
    parts = [_h_code("ansible-playbook %s" % fix["playbook"], "fix")] if fix.get("playbook") else []
    parts += [_h_code(v) for v in _fix_vars(fix)]
    return " ".join(parts) or '<span class="muted">-</span>'


def _h_table(cls, ident, header, rows):
    """rows: (tr attributes, [cell html]) pairs."""
    out = ['<table class="%s"%s>' % (cls, ' id="%s"' % ident if ident else ""),
           "<thead><tr>%s</tr></thead>" % "".join("<th>%s</th>" % _e(h) for h in header), "<tbody>"]
    out += ["<tr%s>%s</tr>" % (attrs, "".join("<td%s>%s</td>" % cell if isinstance(cell, tuple) else
                                              "<td>%s</td>" % cell for cell in cells))
            for attrs, cells in rows]
    return out + ["</tbody>", "</table>"]


def _h_findings(slug, findings, severity, ids):
    chosen = _by_severity(findings, severity)
    out = ['<section class="findings-section %s" id="%s-%s">' % (severity, severity, slug),
           "<h3>%s</h3>" % _e(HEADINGS[severity])]
    if not chosen:
        return out + ['<p class="empty">%s</p>' % _e(EMPTY[severity]), "</section>"]
    rows = []
    for finding in chosen:
        fid = _str(finding.get("id"))
        ident = ids(fid)
        wheres = finding.get("where") or []
        where = ('<ul class="where">%s</ul>' % "".join("<li>%s</li>" % _h_segments(_location(w)) for w in wheres)
                 if wheres else '<span class="muted">-</span>')
        what = ['<strong class="title">%s</strong>' % _e(finding.get("title") or fid)]
        if finding.get("detail") not in (None, ""):
            what.append('<div class="detail">%s</div>' % _e(finding["detail"]))
        what.append('<div class="meta">%s &middot; <code>%s</code></div>' % (_e(finding.get("category") or "-"),
                                                                              _e(fid)))
        rows.append((' class="finding %s" id="%s" data-id="%s"' % (severity, ident, _e(fid)),
                     ['<span class="badge %s">%s</span>' % (severity, _e(severity)), "".join(what), where,
                      _h_fix(finding.get("fix"))]))
    out += _h_table("findings %s" % severity, "findings-%s-%s" % (severity, slug),
                    ["Severity", "Finding", "Locations", "Fix"], rows)
    return out + ["</section>"]


def _h_placement(slug, host):
    in_docker, native = _placement(host)
    out = ['<section class="placement-section" id="placement-%s">' % slug, "<h3>%s</h3>" % _e(SECTIONS[4]),
           '<div class="placement">']
    for cls, title, items, empty in (("in-docker", "In Docker", in_docker, "No services run in Docker."),
                                     ("native", "Outside Docker", native, "No services run outside Docker.")):
        out += ['<div class="%s">' % cls, "<h4>%s</h4>" % _e(title)]
        if items:
            out.append('<ul class="%s" id="%s-%s">' % (cls, cls, slug))
            out += ['<li><strong>%s</strong>%s</li>' % (_e(name or "-"), " (%s)" % _e(detail) if detail else "")
                    for name, detail in items]
            out.append("</ul>")
        else:
            out.append('<p class="muted">%s</p>' % _e(empty))
        out.append("</div>")
    out.append("</div>")
    notes = _docker_notes(host)
    if notes:
        out += ["<h4>Docker engine</h4>", '<ul class="docker-engine">']
        out += ["<li>%s</li>" % _e(n) for n in notes]
        out.append("</ul>")
    return out + ["</section>"]


def _h_ports(slug, host):
    out = ['<section class="ports-section" id="ports-%s">' % slug, "<h3>%s</h3>" % _e(SECTIONS[5])]
    rows = _port_rows(host)
    if not rows:
        return out + ['<p class="muted">No ports in use or planned.</p>', "</section>"]
    table = []
    for row in rows:
        status = _str(row.get("status") or "")
        status_cls = _SLUG.sub("-", status).strip("-") or "unknown"
        users = row.get("users") or []
        users = ("<br>".join(_e(_user(u)) for u in users)) if users else '<span class="muted">-</span>'
        table.append((' class="port %s" data-port="%s"' % (status_cls, _e(row.get("port"))),
                      [_e(row.get("port")), _e(row.get("address") or "any"), users,
                       _e(row.get("planned") or "-"), (' class="status"', _e(status))]))
    out += _h_table("port-map", "port-map-%s" % slug, ["Port", "Address", "Users", "Planned as", "Status"], table)
    return out + ["</section>"]


def _h_environment(slug, host, findings):
    out = ['<section class="environment-section" id="environment-%s">' % slug, "<h3>%s</h3>" % _e(SECTIONS[6])]
    secrets = _secret_rows(host)
    if secrets:
        out.append('<p class="muted">Files holding secrets (fingerprints only, never values).</p>')
        rows = [(' class="secret%s"' % (" world-readable" if world else ""),
                 [_h_code(path), _e(line), _h_code(key), _h_code(fp, "fingerprint"), _e(detector),
                  "yes" if known else "no", _e(mode) + (" (readable by others)" if world else "")])
                for path, line, key, fp, detector, known, mode, world in secrets]
        out += _h_table("secrets", "secrets-%s" % slug,
                        ["File", "Line", "Key", "Fingerprint", "Detector", "Known default", "Mode"], rows)
    else:
        out.append('<p class="muted">No secrets found in the scanned files.</p>')
    repeated = _repeated(secrets)
    if repeated:
        out += ["<h4>Credentials repeated across files</h4>", '<ul class="repeated">']
        out += ["<li>%s in %s</li>" % (_h_code(fp, "fingerprint"), ", ".join(_h_code(p) for p in places))
                for fp, places in repeated]
        out.append("</ul>")
    config = [f for f in findings if f.get("category") == "configuration"]
    if config:
        out += ["<h4>Configuration findings</h4>", '<ul class="configuration">']
        out += ['<li><span class="badge %s">%s</span> %s</li>' % (_e(f.get("severity")), _e(f.get("severity")),
                                                                   _e(f.get("title") or f.get("id")))
                for f in config]
        out.append("</ul>")
    return out + ["</section>"]


def _h_recommendations(slug, findings):
    out = ['<section class="recommendations-section" id="recommendations-%s">' % slug,
           "<h3>%s</h3>" % _e(SECTIONS[7])]
    entries = _recommendations(findings)
    if not entries:
        return out + ['<p class="muted">Nothing to do.</p>', "</section>"]
    out.append('<ol class="recommendations">')
    for entry in entries:
        fix, fixed = entry["fix"], entry["findings"]
        worst = SEVERITIES[min(min(_severity_rank(f.get("severity")) for f in fixed), len(SEVERITIES) - 1)]
        command = fix.get("command") or "ansible-playbook %s" % fix.get("playbook")
        meta = _h_segments(_recommendation_meta(entry))
        out.append('<li class="recommendation %s">%s%s <span class="muted">fixes %s</span>'
                   % (worst, _h_code(command, "fix"), ' <span class="muted">(%s)</span>' % meta if meta else "",
                      _e(_recommendation_counts(fixed))))
        out.append("<ul>%s</ul></li>" % "".join(
            '<li><span class="badge %s">%s</span> %s</li>' % (_e(f.get("severity")), _e(f.get("severity")),
                                                               _e(f.get("title") or f.get("id")))
            for f in fixed))
    return out + ["</ol>", "</section>"]


def _h_changes(report):
    changes = _changes(report)
    if changes is None:
        return []
    previous, appeared, disappeared = changes
    out = ['<section class="comparison" id="comparison">', "<h2>%s</h2>" % _e(SECTIONS[8]),
           '<p class="muted">Compared with the report of %s.</p>' % _e(previous or "an unknown time")]
    for cls, title, entries in (("appeared", "Appeared", appeared), ("disappeared", "Disappeared", disappeared)):
        out.append("<h3>%s</h3>" % _e(title))
        if not entries:
            out.append('<p class="muted">Nothing %s.</p>' % _e(title.lower()))
            continue
        rows = [(' class="%s"' % cls, [_e(e.get("host")), '<span class="badge %s">%s</span>'
                                       % (_e(e.get("severity")), _e(e.get("severity"))),
                                       _e(e.get("title")), _h_code(e.get("id"))]) for e in entries]
        out += _h_table("changes %s" % cls, "comparison-%s" % cls, ["Host", "Severity", "Finding", "Id"], rows)
    return out + ["</section>"]


def _h_counts(counts, ident_prefix="count"):
    items = []
    for severity in SEVERITIES:
        n = counts[severity]
        items.append('<li class="count %s%s" id="%s-%s"><span class="n">%d</span>%s</li>'
                     % (severity, " zero" if not n else "", ident_prefix, severity, n, _e(severity)))
    return '<ul class="counts">%s</ul>' % "".join(items)


def html(report):
    """The whole report as one self-contained HTML page (inline CSS, no script, no external asset)."""
    _check(report)
    hosts = _hosts(report)
    slugs = _slugs([name for name, _h in hosts])
    counts = _total_counts(report)
    generated = _str(report.get("generated_at")) or "an unknown time"
    names = [name for name, _h in hosts]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
           "<title>%s %s</title>" % (_e(TITLE), _e(generated)), "<style>%s</style>" % _CSS.strip(), "</head>",
           "<body>", '<header id="summary">', "<h1>%s</h1>" % _e(TITLE),
           '<p class="generated">Generated <time>%s</time> for %s: %s</p>'
           % (_e(generated), _e(_plural(counts["hosts"], "host")), _e(", ".join(names) or "none")),
           _h_counts(counts)]
    if hosts:
        rows = []
        for name, entry in hosts:
            c = _counts(entry.get("summary"), _findings(entry))
            rows.append((' class="host-row" id="host-row-%s"' % slugs[name],
                         ['<a href="#host-%s">%s</a>' % (slugs[name], _e(name))]
                         + [(' class="%s%s"' % (s, " zero" if not c[s] else ""), str(c[s])) for s in SEVERITIES]))
        out += _h_table("host-summary", "host-summary", ["Host", "Critical", "Warning", "Info"], rows)
    else:
        out.append('<p class="muted">No hosts in this report.</p>')
    out += ["</header>", "<main>"]
    for name, entry in hosts:
        slug = slugs[name]
        findings = _findings(entry)
        used = set()

        def ids(fid, slug=slug, used=used):
            base = "finding-%s-%s" % (slug, _SLUG.sub("-", fid).strip("-") or "x")
            ident, n = base, 1
            while ident in used:
                n += 1
                ident = "%s-%d" % (base, n)
            used.add(ident)
            return ident

        out += ['<section class="host" id="host-%s" data-host="%s">' % (slug, _e(name)), "<h2>%s</h2>" % _e(name),
                _h_counts(_counts(entry.get("summary"), findings), "count-%s" % slug)]
        for severity in SEVERITIES:
            out += _h_findings(slug, findings, severity, ids)
        out += _h_placement(slug, entry)
        out += _h_ports(slug, entry)
        out += _h_environment(slug, entry, findings)
        out += _h_recommendations(slug, findings)
        out.append("</section>")
    out += _h_changes(report)
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
