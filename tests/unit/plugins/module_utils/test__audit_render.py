# -*- coding: utf-8 -*-
"""Tests for plugins/module_utils/_audit_render.py: Markdown and HTML renderings of a taylordash.audit/1
report. The reports are fixtures written here from the schema in docs/audit-design.md ("Report"): a
chaotic host (the backend three times, the 9001 clash, a repeated credential, a data port on 0.0.0.0),
a clean host, and a comparison with a previous report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import random
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_render as render

FP_DB = "hmac-sha256:0f3a9c41d2e87b65"
FP_MINIO = "hmac-sha256:77aa01be93cd4410"
LEAKED = "hunter2-Sup3rS3cret"  # a value that must never reach a page, even when a report carries it by mistake
XSS = """<script>alert("pwn")</script> & 'quoted' | piped\nsecond line"""
CLEANUP = "ansible-playbook cleanup.yml --limit web1"
DEPLOY = "ansible-playbook deploy-prod.yml --limit web1 -e taylordash_minio_console_port=9011"
ROTATE = "ansible-playbook deploy-prod.yml --limit web1 -e taylordash_rotate_credentials=true"


def finding(fid, severity, category, title, detail, where, fix=None):
    return {"id": fid, "severity": severity, "category": category, "title": title, "detail": detail,
            "where": where, "fix": fix}


def cleanup_fix():
    return {"playbook": "cleanup.yml", "vars": {}, "command": CLEANUP}


WEB1_FINDINGS = [
    finding("duplicate-dev-server:backend", "critical", "processes", "backend runs 3 times",
            "uvicorn on 3000 (pid 11), uvicorn on 8000 (pid 12), uvicorn on 8000/ipv6 (pid 13)",
            [{"pid": 11, "port": 3000}, {"pid": 12, "port": 8000}, {"pid": 13, "port": 8000}], cleanup_fix()),
    finding("duplicate-dev-server:frontend", "critical", "processes", "frontend runs 2 times",
            "vite on 5173 (pid 21), vite on 5176 (pid 22)",
            [{"pid": 21, "port": 5173}, {"pid": 22, "port": 5176}], cleanup_fix()),
    finding("port-double-booked:9001", "critical", "ports", "port 9001 is double-booked",
            "minio-console and mosquitto-websockets both assign host port 9001",
            [{"path": "/TaylorProjects/TaylorDashv1/docker-compose.yml", "line": 41, "key": "minio.ports"},
             {"path": "/TaylorProjects/TaylorDashv1/docker-compose.yml", "line": 58, "key": "mosquitto.ports"},
             {"container": "taylordashv1-minio-1", "port": 9001}],
            {"playbook": "deploy-prod.yml", "vars": {"taylordash_minio_console_port": 9011}, "command": DEPLOY}),
    finding("repeated-credential:" + FP_DB, "critical", "configuration", "one credential in 2 files",
            "POSTGRES_PASSWORD and DATABASE_URL hold the same credential",
            [{"path": "/TaylorProjects/TaylorDashv1/.env", "line": 3, "key": "POSTGRES_PASSWORD",
              "fingerprint": FP_DB, "value": LEAKED},
             {"path": "/TaylorProjects/TaylorDashv1/backend/.env", "line": 7, "key": "DATABASE_URL",
              "fingerprint": FP_DB}],
            {"playbook": "deploy-prod.yml", "vars": {"taylordash_rotate_credentials": True}, "command": ROTATE}),
    finding("data-port-exposed:postgres", "critical", "ports", "postgres listens on 0.0.0.0:5432",
            "a data service reachable from other hosts", [{"address": "0.0.0.0", "port": 5432, "pid": 77}],
            cleanup_fix()),
    finding("world-readable-secrets:/TaylorProjects/TaylorDashv1/.env", "warning", "configuration",
            "/TaylorProjects/TaylorDashv1/.env holds secrets and is readable by others", "mode 0644",
            [{"path": "/TaylorProjects/TaylorDashv1/.env"}],
            {"playbook": "deploy-prod.yml", "vars": {"taylordash_rotate_credentials": True}, "command": ROTATE}),
    finding("no-log-rotation", "warning", "docker", "container logs are not rotated",
            "log driver json-file without max-size", [], None),
    finding("foreign-process:evil|name", "info", "processes", "not ours: evil | name", XSS,
            [{"pid": 99, "port": 6666}]),
    finding("dangling-images", "info", "docker", "3 dangling images", "", [], cleanup_fix()),
]

WEB1 = {
    "summary": {"critical": 5, "warning": 2, "info": 2},
    "findings": WEB1_FINDINGS,
    "docker_vs_native": {
        "in_docker": [{"name": "postgres", "ports": [5432], "container": "taylordashv1-postgres-1"},
                      {"name": "minio", "ports": [9000, 9001]}, "traefik"],
        "native": [{"name": "backend", "ports": [3000, 8000, 8000], "pids": [11, 12, 13], "kind": "uvicorn"},
                   {"name": "frontend", "ports": [5173, 5176], "pids": [21, 22]}],
    },
    "port_map": [
        {"port": 9001, "address": "0.0.0.0",
         "users": [{"type": "container", "name": "taylordashv1-minio-1"},
                   {"type": "file", "name": "/TaylorProjects/TaylorDashv1/docker-compose.yml:58"}],
         "planned": "minio-console", "status": "double-booked"},
        {"port": 5432, "address": "0.0.0.0", "users": [{"type": "listener", "name": "postgres"}],
         "planned": "postgres", "status": "exposed"},
        {"port": 3000, "address": "0.0.0.0", "users": [{"type": "listener", "name": "uvicorn"}],
         "planned": "backend", "status": "ok"},
        {"port": 8000, "address": "0.0.0.0", "users": [{"type": "listener", "name": "uvicorn"}],
         "planned": None, "status": "off-plan"},
    ],
    "facts": {
        "schema": "taylordash.audit.facts/1",
        "host": "web1",
        "files": [
            {"path": "/TaylorProjects/TaylorDashv1/.env", "kind": "env", "mode": "0644", "world_readable": True,
             "secrets": [{"line": 3, "key": "POSTGRES_PASSWORD", "fingerprint": FP_DB, "detector": "keyword",
                          "known_default": False, "value": LEAKED},
                         {"line": 9, "key": "MINIO_ROOT_PASSWORD", "fingerprint": FP_MINIO,
                          "detector": "keyword", "known_default": True}]},
            {"path": "/TaylorProjects/TaylorDashv1/backend/.env", "kind": "env", "mode": "0600",
             "world_readable": False,
             "secrets": [{"line": 7, "key": "DATABASE_URL", "fingerprint": FP_DB,
                          "detector": "url-credentials", "known_default": False}]},
        ],
        "docker": {"available": True, "log_driver": "json-file", "log_opts": {}, "live_restore": False,
                   "stopped_ours": [{"name": "taylordash-migrate-1", "project": "taylordash"}],
                   "dangling_images": 3, "unused_networks_ours": ["taylordashv1_default"]},
    },
}

WEB2 = {
    "summary": {"critical": 0, "warning": 0, "info": 0},
    "findings": [],
    "docker_vs_native": {"in_docker": [{"name": "postgres", "ports": [5432]}], "native": []},
    "port_map": [{"port": 5432, "address": "127.0.0.1", "users": [{"type": "container", "name": "pg"}],
                  "planned": "postgres", "status": "ok"}],
    "facts": {"files": [], "docker": {"available": True, "log_driver": "json-file",
                                      "log_opts": {"max-size": "10m", "max-file": "3"}, "live_restore": True}},
}


def make_report(comparison=True):
    report = {
        "schema": "taylordash.audit/1",
        "generated_at": "2026-12-02T12:00:00Z",
        "summary": {"hosts": 2, "critical": 5, "warning": 2, "info": 2},
        "hosts": {"web1": copy.deepcopy(WEB1), "web2": copy.deepcopy(WEB2)},
        "comparison": None,
    }
    if comparison:
        report["comparison"] = {
            "previous_generated_at": "2026-12-01T12:00:00Z",
            "appeared": [{"host": "web1", "id": "port-double-booked:9001", "severity": "critical",
                          "title": "port 9001 is double-booked"}],
            "disappeared": [{"host": "web2", "id": "duplicate-dev-server:backend", "severity": "critical",
                             "title": "backend runs 2 times"}],
        }
    return report


@pytest.fixture
def report():
    return make_report()


def scrambled(obj, rng):
    """The same report built in another order: every dict's keys reversed, findings and port rows shuffled."""
    if isinstance(obj, dict):
        out = {}
        for key in reversed(list(obj)):
            value = scrambled(obj[key], rng)
            if key in ("findings", "port_map", "appeared", "disappeared"):
                rng.shuffle(value)
            out[key] = value
        return out
    if isinstance(obj, list):
        return [scrambled(v, rng) for v in obj]
    return obj


def positions(text, needles):
    found = [text.find(n) for n in needles]
    assert -1 not in found, [n for n, i in zip(needles, found) if i == -1]
    return found


SECRET_SHAPES = [
    re.compile(LEAKED),
    re.compile(r"[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*\s*=\s*[^\s`*]"),
    re.compile(r"://[^/\s:@]+:[^@\s*]+@"),
]


# --------------------------------------------------------------------------- Markdown

def test_markdown_whole_inventory_sections_in_order(report):
    md = render.markdown(report)
    assert md.startswith("# TaylorDash infrastructure audit: 2 hosts\n")
    assert "Generated 2026-12-02T12:00:00Z for hosts: web1, web2." in md
    heads = ["## Summary", "## Host web1", "### Critical issues", "### Warnings", "### Info",
             "### Services in Docker vs outside it", "### Port allocation", "### Environment",
             "### Recommendations", "## Host web2", "## Changes since the previous report"]
    found = positions(md, heads)
    assert found == sorted(found)
    # web2's sections come after its heading, in the same order
    web2 = md[md.index("## Host web2"):]
    found = positions(web2, heads[2:9])
    assert found == sorted(found)


def test_markdown_summary_has_counts_and_a_row_per_host(report):
    md = render.markdown(report)
    summary = md[md.index("## Summary"):md.index("## Host web1")]
    for row in ("| Critical | 5 |", "| Warning | 2 |", "| Info | 2 |", "| Hosts | 2 |",
                "| web1 | 5 | 2 | 2 |", "| web2 | 0 | 0 | 0 |"):
        assert row in summary


def test_markdown_duplicate_servers_and_9001_clash(report):
    md = render.markdown(report)
    critical = md[md.index("### Critical issues"):md.index("### Warnings")]
    # sorted as the schema says: severity, category (configuration, ports, processes), id
    assert "#### 4. backend runs 3 times" in critical
    assert "uvicorn on 3000 (pid 11), uvicorn on 8000 (pid 12)" in critical
    assert "  - pid 12 port 8000" in critical
    assert "#### 3. port 9001 is double-booked" in critical
    assert "  - `/TaylorProjects/TaylorDashv1/docker-compose.yml:41` key `minio.ports`" in critical
    assert "  - port 9001 container `taylordashv1-minio-1`" in critical
    assert "- Fix: `%s`" % CLEANUP in critical
    assert "- Fix: `%s`" % DEPLOY in critical
    ports = md[md.index("### Port allocation"):md.index("### Environment")]
    assert ("| 9001 | 0.0.0.0 | container taylordashv1-minio-1<br>file /TaylorProjects/TaylorDashv1/"
            "docker-compose.yml:58 | minio-console | **double-booked** (!) |") in ports
    assert "| 5432 | 0.0.0.0 | listener postgres | postgres | **exposed** (!) |" in ports
    assert "| 8000 | 0.0.0.0 | listener uvicorn | - | off-plan |" in ports
    # rows in port order
    assert ports.index("| 3000 |") < ports.index("| 5432 |") < ports.index("| 8000 |") < ports.index("| 9001 |")


def test_markdown_services_in_and_out_of_docker(report):
    md = render.markdown(report, host="web1")
    section = md[md.index("## Services in Docker vs outside it"):md.index("## Port allocation")]
    inside, outside = section.split("### Outside Docker")
    assert "- **postgres** (port 5432; container: taylordashv1-postgres-1)" in inside
    assert "- **traefik**" in inside
    assert "- **backend** (ports 3000, 8000, 8000; kind: uvicorn; pids: 11, 12, 13)" in outside
    assert "- Log driver json-file (no options)." in outside
    assert "- Live restore off." in outside


def test_markdown_environment_fingerprints_never_values(report):
    md = render.markdown(report)
    env = md[md.index("### Environment"):md.index("### Recommendations")]
    assert ("| `/TaylorProjects/TaylorDashv1/.env` | 3 | `POSTGRES_PASSWORD` | `%s` | keyword | no | "
            "0644 (readable by others) |" % FP_DB) in env
    assert ("| `/TaylorProjects/TaylorDashv1/.env` | 9 | `MINIO_ROOT_PASSWORD` | `%s` | keyword | yes |"
            % FP_MINIO) in env
    assert ("- `%s` in `/TaylorProjects/TaylorDashv1/.env:3`, `/TaylorProjects/TaylorDashv1/backend/.env:7`"
            % FP_DB) in env
    assert "- critical: one credential in 2 files" in env
    for shape in SECRET_SHAPES:
        assert not shape.search(md), shape.pattern


def test_markdown_recommendations_one_per_command_in_severity_order(report):
    md = render.markdown(report, host="web1")
    recs = md[md.index("## Recommendations"):md.index("## Changes since the previous report")]
    numbered = [line for line in recs.splitlines() if re.match(r"^\d+\. ", line)]
    # in the order of the first (most severe) finding each one fixes
    assert numbered == [
        "1. Run `%s` (playbook `deploy-prod.yml`; variables `taylordash_rotate_credentials=true`):"
        " fixes 1 critical, 1 warning." % ROTATE,
        "2. Run `%s` (playbook `cleanup.yml`; variables none): fixes 3 critical, 1 info." % CLEANUP,
        "3. Run `%s` (playbook `deploy-prod.yml`; variables `taylordash_minio_console_port=9011`):"
        " fixes 1 critical." % DEPLOY,
    ]
    assert "   - critical: backend runs 3 times" in recs
    # the finding without a fix has no recommendation
    assert "container logs are not rotated" not in recs


def test_recommendations_merge_one_command_and_take_commands_without_playbook():
    fix_a = {"playbook": "deploy-prod.yml", "vars": {"b": 1}, "command": "ansible-playbook deploy-prod.yml"}
    fix_b = {"playbook": "deploy-prod.yml", "vars": {"a": "x", "b": 1}, "command": "ansible-playbook deploy-prod.yml"}
    fix_c = {"playbook": None, "vars": {}, "command": "chmod 0600 /srv/.env"}
    fix_d = {"playbook": "cleanup.yml", "vars": {"cleanup_images": True}}
    findings = [finding("a", "critical", "ports", "A", "", [], fix_a),
                finding("c", "warning", "configuration", "C", "", [], fix_c),
                finding("b", "warning", "ports", "B", "", [], fix_b),
                finding("d", "info", "docker", "D", "", [], fix_d)]
    report = {"schema": "taylordash.audit/1", "hosts": {"h": {"findings": findings}}}
    md = render.markdown(report, host="h")
    numbered = [line for line in md.splitlines() if re.match(r"^\d+\. Run", line)]
    assert numbered == [
        "1. Run `ansible-playbook deploy-prod.yml` (playbook `deploy-prod.yml`; variables `b=1`, `a=x`):"
        " fixes 1 critical, 1 warning.",
        "2. Run `chmod 0600 /srv/.env`: fixes 1 warning.",
        "3. Run `ansible-playbook cleanup.yml` (playbook `cleanup.yml`; variables `cleanup_images=true`):"
        " fixes 1 info.",
    ]
    page = render.html(report)
    assert ('<li class="recommendation critical"><code class="fix">ansible-playbook deploy-prod.yml</code> '
            '<span class="muted">(playbook <code>deploy-prod.yml</code>; variables <code>b=1</code>, <code>a=x</code>)'
            '</span> <span class="muted">fixes 1 critical, 1 warning</span>') in page
    assert '<code class="fix">chmod 0600 /srv/.env</code> <span class="muted">fixes 1 warning</span>' in page


def test_markdown_one_host_and_its_changes(report):
    md = render.markdown(report, host="web1")
    assert md.startswith("# TaylorDash infrastructure audit: web1\n")
    assert "## Host" not in md and "web2" not in md
    heads = ["## Summary", "## Critical issues", "## Warnings", "## Info", "## Services in Docker vs outside it",
             "## Port allocation", "## Environment", "## Recommendations", "## Changes since the previous report"]
    found = positions(md, heads)
    assert found == sorted(found)
    changes = md[md.index("## Changes since the previous report"):]
    assert "Compared with the report of 2026-12-01T12:00:00Z." in changes
    assert "| web1 | critical | port 9001 is double-booked | `port-double-booked:9001` |" in changes
    assert "Nothing disappeared." in changes


def test_markdown_clean_host_says_so(report):
    md = render.markdown(report, host="web2")
    for text in ("No critical issues.", "No warnings.", "No info findings.", "No services run outside Docker.",
                 "No secrets found in the scanned files.", "Nothing to do."):
        assert text in md
    assert "| Critical | 0 |" in md
    assert "| 5432 | 127.0.0.1 | container pg | postgres | ok |" in md
    assert "- Log driver json-file (max-file 3, max-size 10m)." in md


def test_markdown_without_comparison_has_no_changes_section():
    md = render.markdown(make_report(comparison=False))
    assert "Changes since the previous report" not in md


def test_markdown_escapes_table_cells_and_html(report):
    md = render.markdown(report)
    assert "<script>" not in md
    info = md[md.index("### Info"):md.index("### Services in Docker vs outside it")]
    row = [line for line in info.splitlines() if "evil" in line]
    assert len(row) == 1, "the newline of the detail must not break the table row"
    cells = re.split(r"(?<!\\)\|", row[0])
    assert len(cells) == 6  # the empty text around the outer pipes and the 4 cells
    assert cells[2].strip() == r"not ours: evil \| name"
    assert cells[3].strip() == (r"""\<script\>alert("pwn")\</script\> & 'quoted' \| piped<br>second line""")


def test_markdown_unknown_host_and_wrong_schema(report):
    with pytest.raises(ValueError, match="no host 'db9'"):
        render.markdown(report, host="db9")
    with pytest.raises(ValueError, match="taylordash.audit/1"):
        render.markdown({"schema": "taylordash.audit.facts/1"})
    with pytest.raises(ValueError):
        render.html([])


def test_empty_report_renders():
    empty = {"schema": "taylordash.audit/1", "generated_at": "2026-12-02T12:00:00Z", "hosts": {},
             "summary": {"hosts": 0, "critical": 0, "warning": 0, "info": 0}, "comparison": None}
    assert "No hosts in this report." in render.markdown(empty)
    assert "No hosts in this report." in render.html(empty)


def test_host_without_optional_sections():
    report = {"schema": "taylordash.audit/1", "hosts": {"bare": {}}}
    md = render.markdown(report)
    assert "No critical issues." in md and "No ports in use or planned." in md
    assert "| bare | 0 | 0 | 0 |" in md
    assert "No critical issues." in render.html(report)


# --------------------------------------------------------------------------- HTML

class Collector(HTMLParser):
    VOID = {"meta", "br", "link", "img", "input", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.ids, self.errors, self.text, self.tags = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(page):
    parser = Collector()
    parser.feed(page)
    parser.close()
    return parser


def test_html_is_well_formed_with_unique_ids(report):
    parsed = parse(render.html(report))
    assert parsed.errors == [] and parsed.stack == []
    assert len(parsed.ids) == len(set(parsed.ids))
    for ident in ("summary", "count-critical", "host-web1", "host-web2", "port-map-web1", "port-map-web2",
                  "placement-web1", "secrets-web1", "recommendations-web1", "comparison",
                  "finding-web1-duplicate-dev-server-backend", "finding-web1-port-double-booked-9001"):
        assert ident in parsed.ids


def test_html_is_self_contained(report):
    page = render.html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page)
    for forbidden in ("<link", "<script", "<img", "<iframe", "@import", "url(", "src=", "@font-face"):
        assert forbidden not in page.lower()
    assert set(re.findall(r'href="([^"]*)"', page)) == {"#host-web1", "#host-web2"}
    assert "default-src 'none'" in page
    assert "script" not in {t for t in parse(page).tags}


def test_html_summary_counts_colour_coded(report):
    page = render.html(report)
    header = page[page.index('<header id="summary">'):page.index("</header>")]
    assert '<li class="count critical" id="count-critical"><span class="n">5</span>critical</li>' in header
    assert '<li class="count warning" id="count-warning"><span class="n">2</span>warning</li>' in header
    assert '<li class="count info" id="count-info"><span class="n">2</span>info</li>' in header
    assert ".count.critical{background:var(--critical-bg);color:var(--critical)}" in page
    assert '<a href="#host-web2">web2</a>' in header


def test_html_duplicate_servers_and_9001_clash(report):
    page = render.html(report)
    web1 = page[page.index('id="host-web1"'):page.index('id="host-web2"')]
    row = web1[web1.index('id="finding-web1-duplicate-dev-server-backend"'):]
    row = row[:row.index("</tr>")]
    assert '<span class="badge critical">critical</span>' in row
    assert '<strong class="title">backend runs 3 times</strong>' in row
    assert "<li>pid 11 port 3000</li>" in row
    assert '<code class="fix">%s</code>' % CLEANUP in row
    assert web1.count('class="finding critical"') == 5
    assert 'class="finding warning"' in web1 and 'class="finding info"' in web1
    ports = web1[web1.index('id="port-map-web1"'):]
    ports = ports[:ports.index("</table>")]
    clash = re.search(r'<tr class="port double-booked" data-port="9001">(.*?)</tr>', ports).group(1)
    assert "minio-console" in clash and "taylordashv1-minio-1" in clash and "docker-compose.yml:58" in clash
    assert '<tr class="port exposed" data-port="5432">' in ports
    assert "tr.port.double-booked{background:var(--critical-bg)}" in page
    placement = web1[web1.index('id="placement-web1"'):]
    assert '<ul class="native" id="native-web1">\n<li><strong>backend</strong> (ports 3000, 8000, 8000;' in placement


def test_html_clean_host_and_comparison(report):
    page = render.html(report)
    web2 = page[page.index('id="host-web2"'):page.index('id="comparison"')]
    assert '<p class="empty">No critical issues.</p>' in web2
    assert 'class="finding ' not in web2
    assert '<tr class="port ok" data-port="5432">' in web2
    comparison = page[page.index('id="comparison"'):]
    assert '<table class="changes appeared" id="comparison-appeared">' in comparison
    assert "port 9001 is double-booked" in comparison and "backend runs 2 times" in comparison
    assert 'id="comparison"' not in render.html(make_report(comparison=False))


def test_html_escapes_everything(report):
    page = render.html(report)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27; | piped\nsecond line" in page
    assert 'data-id="foreign-process:evil|name"' in page
    assert 'id="finding-web1-foreign-process-evil-name"' in page
    hostile = make_report()
    hostile["hosts"] = {'"><b>x': {"findings": [], "port_map": [{"port": 1, "address": "<i>", "users": [],
                                                                   "planned": None, "status": "ok"}]}}
    page = render.html(hostile)
    assert "<b>" not in page and "<i>" not in page
    assert 'id="host-b-x"' in page and 'data-host="&quot;&gt;&lt;b&gt;x"' in page
    assert parse(page).errors == []


def test_html_fingerprint_shown_never_a_value(report):
    page = render.html(report)
    assert '<code class="fingerprint">%s</code>' % FP_DB in page
    assert FP_MINIO in page
    for shape in SECRET_SHAPES:
        assert not shape.search(page), shape.pattern


# --------------------------------------------------------------------------- both

@pytest.mark.parametrize("render_it", [
    render.markdown,
    lambda r: render.markdown(r, host="web1"),
    render.html,
], ids=["markdown", "markdown-one-host", "html"])
def test_deterministic_whatever_the_build_order(report, render_it):
    first = render_it(report)
    assert render_it(make_report()) == first
    for seed in range(5):
        assert render_it(scrambled(make_report(), random.Random(seed))) == first


def test_rendering_does_not_change_the_report(report):
    before = copy.deepcopy(report)
    render.markdown(report)
    render.markdown(report, host="web1")
    render.html(report)
    assert report == before


def test_slugs_are_unique():
    assert render._slugs(["web.1", "web-1", "web 1", "", "?"]) == {
        "web.1": "web-1", "web-1": "web-1-2", "web 1": "web-1-3", "": "x", "?": "x-2"}


# --------------------------------------------------------------------------- pieces

@pytest.mark.parametrize("where, expected", [
    ({"path": "/srv/.env", "line": 3, "key": "API_KEY", "fingerprint": "hmac-sha256:ab"},
     "`/srv/.env:3` key `API_KEY` fingerprint `hmac-sha256:ab`"),
    ({"pid": 11, "port": 3000}, "pid 11 port 3000"),
    ({"port": 5432, "address": "0.0.0.0"}, "port 5432 on 0.0.0.0"),
    ({"container": "pg-1"}, "container `pg-1`"),
    ({"path": "/srv/app"}, "`/srv/app`"),
    ({"what": "root", "error": "denied"}, "error denied what root"),
    ({"key": "X", "value": "leak", "secret": "leak", "api_token": "leak"}, "key `X`"),
    ("plain", "plain"),
], ids=["file-secret", "process", "listener", "container", "path-only", "other-keys", "value-keys-hidden",
        "string"])
def test_location_markdown(where, expected):
    assert render._md_segments(render._location(where)) == expected


@pytest.mark.parametrize("text, cell, block, expected", [
    ("plain words", False, False, "plain words"),
    ("a|b", True, False, r"a\|b"),
    ("one\ntwo", True, False, "one<br>two"),
    ("one\r\ntwo", False, False, "one two"),
    ("<b>*x*</b>", False, False, r"\<b\>\*x\*\</b\>"),
    ("# not a heading", False, True, r"\# not a heading"),
    ("- not a list", False, True, r"\- not a list"),
    ("1. not a list", False, True, r"1\. not a list"),
    ("127.0.0.1", True, False, "127.0.0.1"),
    ("- inline", False, False, "- inline"),
    ("snake_case_name", False, False, "snake_case_name"),
    ("_emphasis_", False, False, r"\_emphasis\_"),
    ("[link](x)", False, False, r"\[link\](x)"),
], ids=["plain", "pipe", "newline-cell", "crlf", "html-and-emphasis", "heading", "list", "ordered-list",
        "address-in-cell", "dash-inline", "intraword-underscore", "edge-underscore", "link"])
def test_md_text(text, cell, block, expected):
    assert render._md_text(text, cell, block) == expected


def test_md_heading_keeps_a_trailing_hash():
    assert render._md_heading("issue #") == r"issue \#"


@pytest.mark.parametrize("text, cell, expected", [
    ("ls -l", False, "`ls -l`"),
    ("a `b` c", False, "``a `b` c``"),
    ("`edge", False, "`` `edge ``"),
    ("a|b", True, r"`a\|b`"),
    ("a|b", False, "`a|b`"),
    ("two\nlines", False, "`two lines`"),
    ("", False, ""),
], ids=["plain", "backticks", "edge-backtick", "pipe-in-cell", "pipe-outside-cell", "newline", "empty"])
def test_md_code(text, cell, expected):
    assert render._md_code(text, cell) == expected


class Tables(HTMLParser):
    """The cells of every table of an HTML fragment, and whether a script element appears."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.cell, self.script = [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "script":
            self.script = True

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_markdown_reads_back_as_intended(report):
    """A CommonMark renderer with GFM tables (markdown-it-py, in the toolchain through rich) reads the
    tables with their columns intact and the hostile detail as text."""
    markdown_it = pytest.importorskip("markdown_it")
    page = markdown_it.MarkdownIt("commonmark").enable("table").render(render.markdown(report, host="web1"))
    tables = Tables()
    tables.feed(page)
    assert not tables.script
    by_header = {tuple(t[0]): t[1:] for t in tables.tables}
    info = by_header[("Category", "Finding", "Detail", "Where")]
    assert info[1] == ["processes", "not ours: evil | name",
                       """<script>alert("pwn")</script> & 'quoted' | pipedsecond line""", "pid 99 port 6666"]
    ports = by_header[("Port", "Address", "Users", "Planned as", "Status")]
    assert [row[0] for row in ports] == ["3000", "5432", "8000", "9001"]
    assert ports[3][4] == "double-booked (!)"
    secrets = by_header[("File", "Line", "Key", "Fingerprint", "Detector", "Known default", "Mode")]
    assert secrets[0][:4] == ["/TaylorProjects/TaylorDashv1/.env", "3", "POSTGRES_PASSWORD", FP_DB]
    assert "<li>pid 11 port 3000</li>" in page
