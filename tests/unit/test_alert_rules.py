"""Alert rules of the infrastructure role against their promtool unit test.

Both templates (roles/infrastructure/templates/prometheus/rules/) are rendered
with the same variables, the way the role's template tasks do (plain Jinja2
with Ansible's defaults: trim_blocks, keep_trailing_newline, undefined
variables fail), then `promtool check rules` and `promtool test rules` run in
the project's Prometheus image. The test file computes its series, thresholds
and evaluation times from the variables, so every variable set must pass; a
rules file rendered with other values than its test must fail.

Here the render checks; promtool in the image:
tests/integration/test_alert_rules_promtool.py.
"""

import os

import jinja2
import pytest
import yaml

from ansible_collections.taylordash.ops.tests.unit.roles import ROOT, load as _load, render as _render

TEMPLATES = os.path.join(ROOT, "roles", "infrastructure", "templates", "prometheus", "rules")
RULES = "taylordash.rules.yml"
TESTS = "taylordash.rules.test.yml"
MOUNT = "/etc/prometheus/rules"

VARIABLES = [
    "infrastructure_alert_service_down_for",
    "infrastructure_alert_response_time_seconds",
    "infrastructure_alert_response_time_for",
    "infrastructure_alert_database_down_for",
    "infrastructure_alert_disk_percent",
    "infrastructure_alert_disk_for",
    "infrastructure_alert_memory_percent",
    "infrastructure_alert_memory_for",
    "infrastructure_prometheus_scrape_interval",
    "infrastructure_prometheus_evaluation_interval",
]
ALERTS = ["TaylordashServiceDown", "TaylordashSlowResponses", "TaylordashDatabaseDown",
          "TaylordashBackupTooOld", "TaylordashDiskFull", "TaylordashMemoryHigh"]


def role_defaults():
    """The variables as the roles define them (the alert defaults, the project name)."""
    infra = _load("roles/infrastructure/defaults/main.yml")
    values = {name: infra[name] for name in VARIABLES}
    values["taylordash_project_name"] = _load("roles/taylordash/defaults/main.yml")["taylordash_project_name"]
    for name, value in values.items():
        assert "{{" not in str(value), f"{name} is templated; this test renders only literal defaults"
    return values


FAST = {
    "infrastructure_alert_service_down_for": "10s",
    "infrastructure_alert_database_down_for": "10s",
    "infrastructure_prometheus_evaluation_interval": "5s",
    "infrastructure_prometheus_scrape_interval": "5s",
    "infrastructure_alert_response_time_for": "30s",
    "infrastructure_alert_disk_for": "0s",
    "infrastructure_alert_memory_for": "30s",
    "infrastructure_alert_disk_percent": 70,
    "infrastructure_alert_memory_percent": 90,
}
NO_FOR = {name: "0s" for name in VARIABLES if name.endswith("_for")}
# Evaluation and scrape intervals that do not divide each other, compound
# durations, thresholds near the ends of their range, another project name.
UNEVEN = {
    "infrastructure_prometheus_evaluation_interval": "20s",
    "infrastructure_prometheus_scrape_interval": "30s",
    "infrastructure_alert_service_down_for": "1m30s",
    "infrastructure_alert_response_time_seconds": 2.5,
    "infrastructure_alert_response_time_for": "45s",
    "infrastructure_alert_database_down_for": "0",
    "infrastructure_alert_disk_percent": 99.5,
    "infrastructure_alert_disk_for": "1h",
    "infrastructure_alert_memory_percent": 5,
    "taylordash_project_name": "other-project",
}
# Sub-second intervals; values as strings, as `-e name=value` passes them.
MILLISECONDS = {
    "infrastructure_prometheus_evaluation_interval": "1500ms",
    "infrastructure_prometheus_scrape_interval": "1s",
    "infrastructure_alert_service_down_for": "2s",
    "infrastructure_alert_response_time_seconds": "0.05",
    "infrastructure_alert_response_time_for": "2500ms",
    "infrastructure_alert_disk_percent": "60",
    "infrastructure_alert_memory_for": "1m1s",
}
PASSING = {"defaults": {}, "fast": FAST, "no-for": NO_FOR, "uneven": UNEVEN, "milliseconds": MILLISECONDS}

# Rules rendered with these values, the test file with the defaults: promtool
# must fail on that alert alone, and for the reason given: "got:[]" (it did
# not fire when it should) or "exp:[]" (it fired before `for` had elapsed).
FAILING = {
    "disk-threshold-higher": ({"infrastructure_alert_disk_percent": 95}, "TaylordashDiskFull", "got:[]"),
    "memory-threshold-higher": ({"infrastructure_alert_memory_percent": 95}, "TaylordashMemoryHigh", "got:[]"),
    "response-time-threshold-higher": ({"infrastructure_alert_response_time_seconds": 5},
                                       "TaylordashSlowResponses", "got:[]"),
    "service-down-for-shorter": ({"infrastructure_alert_service_down_for": "45s"}, "TaylordashServiceDown", "exp:[]"),
    "database-down-for-longer": ({"infrastructure_alert_database_down_for": "5m"}, "TaylordashDatabaseDown", "got:[]"),
}


def render(name, overrides):
    return _render(TEMPLATES, name + ".j2", dict(role_defaults(), **overrides))


def write(directory, rules_overrides, tests_overrides):
    (directory / RULES).write_text(render(RULES, rules_overrides), encoding="utf-8")
    (directory / TESTS).write_text(render(TESTS, tests_overrides), encoding="utf-8")
    directory.chmod(0o755)


# -- render checks (no Docker) ----------------------------------------------


@pytest.mark.parametrize("overrides", list(PASSING.values()), ids=list(PASSING))
def test_rendered_rules_shape(overrides):
    values = dict(role_defaults(), **overrides)
    rules = yaml.safe_load(render(RULES, overrides))
    (group,) = rules["groups"]
    assert group["name"] == "taylordash"
    assert [rule["alert"] for rule in group["rules"]] == ALERTS
    # The backup alert has no `for`: its condition spans two schedules already.
    fors = {rule["alert"]: str(rule["for"]) for rule in group["rules"] if "for" in rule}
    assert fors == {
        "TaylordashServiceDown": str(values["infrastructure_alert_service_down_for"]),
        "TaylordashSlowResponses": str(values["infrastructure_alert_response_time_for"]),
        "TaylordashDatabaseDown": str(values["infrastructure_alert_database_down_for"]),
        "TaylordashDiskFull": str(values["infrastructure_alert_disk_for"]),
        "TaylordashMemoryHigh": str(values["infrastructure_alert_memory_for"]),
    }
    for rule in group["rules"]:
        assert rule["labels"]["project"] == values["taylordash_project_name"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert "{{ $labels." in rule["annotations"]["summary"]

    tests = yaml.safe_load(render(TESTS, overrides))
    assert tests["rule_files"] == [f"{MOUNT}/{RULES}"]
    assert str(tests["evaluation_interval"]) == str(values["infrastructure_prometheus_evaluation_interval"])
    # The backup group has its own 10 s series (its timeline is in seconds of time(), not scrapes).
    assert {str(group["interval"]) for group in tests["tests"] if group["name"] != "backup too old"} == {
        str(values["infrastructure_prometheus_scrape_interval"])}
    tested = {case["alertname"] for group in tests["tests"] for case in group["alert_rule_test"] if case["exp_alerts"]}
    assert tested == set(ALERTS)


# Evaluation times of TaylordashServiceDown worked out by hand: the target is
# down from the third sample (2 scrape intervals), the alert is active from
# the first evaluation at or after that, fires `for` (rounded up to whole
# evaluation intervals) later; pending is checked one evaluation before
# firing, firing two scrape intervals (rounded up likewise) after.
EVAL_TIMES = {
    "defaults": ({}, ["0s", "75s", "120s"]),
    "compound-for": ({"infrastructure_alert_service_down_for": "1m30s"}, ["0s", "105s", "150s"]),
    "hours": ({"infrastructure_alert_service_down_for": "1h"}, ["0s", "3615s", "3660s"]),
    "for-zero": ({"infrastructure_alert_service_down_for": "0s"}, ["0s", "60s"]),
    "for-not-a-multiple": ({"infrastructure_alert_service_down_for": "20s"}, ["0s", "45s", "90s"]),
    "uneven-intervals": ({"infrastructure_prometheus_evaluation_interval": "20s",
                          "infrastructure_prometheus_scrape_interval": "30s"}, ["0s", "100s", "180s"]),
    "milliseconds": ({"infrastructure_prometheus_evaluation_interval": "1500ms",
                      "infrastructure_prometheus_scrape_interval": "1500ms",
                      "infrastructure_alert_service_down_for": "2s"}, ["0s", "4500ms", "9s"]),
}


@pytest.mark.parametrize("overrides,expected", list(EVAL_TIMES.values()), ids=list(EVAL_TIMES))
def test_service_down_eval_times(overrides, expected):
    tests = yaml.safe_load(render(TESTS, overrides))
    (group,) = [group for group in tests["tests"] if group["name"] == "service down"]
    assert [str(case["eval_time"]) for case in group["alert_rule_test"]] == expected


def test_unknown_duration_unit_fails_the_render():
    with pytest.raises(jinja2.UndefinedError):
        render(TESTS, {"infrastructure_alert_disk_for": "10min"})
