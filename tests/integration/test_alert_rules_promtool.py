"""The alert rules and their unit test (rendered as tests/unit/test_alert_rules.py renders them) through
`promtool check rules` and `promtool test rules` in the project's Prometheus image (PROMTOOL_IMAGE
overrides it; engine.py: skipped by hand without it, failed under `make test`)."""

import os
import subprocess

import pytest

from ansible_collections.taylordash.ops.tests.integration.engine import require_image
from ansible_collections.taylordash.ops.tests.unit.test_alert_rules import (ALERTS, FAILING, MOUNT, PASSING, RULES,
                                                                            TESTS, write)

IMAGE = os.environ.get("PROMTOOL_IMAGE", "taylordash/prometheus:2.53")


@pytest.fixture(scope="module")
def promtool():
    """Run promtool in the Prometheus image with a directory mounted where the role mounts the rules."""
    require_image(IMAGE, "promtool check/test rules")

    def run(directory, *args):
        return subprocess.run(
            ["docker", "run", "--rm", "--user", "0", "--network", "none",
             "-v", f"{directory}:{MOUNT}:ro", "--entrypoint", "promtool", IMAGE, *args],
            capture_output=True, text=True, check=False, timeout=300)

    return run


def _output(result):
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


# -- promtool ----------------------------------------------------------------


@pytest.mark.parametrize("overrides", list(PASSING.values()), ids=list(PASSING))
def test_promtool_passes(promtool, tmp_path, overrides):
    write(tmp_path, overrides, overrides)
    check = promtool(tmp_path, "check", "rules", f"{MOUNT}/{RULES}")
    assert check.returncode == 0, _output(check)
    assert "SUCCESS: %d rules found" % len(ALERTS) in check.stdout, _output(check)
    test = promtool(tmp_path, "test", "rules", f"{MOUNT}/{TESTS}")
    assert test.returncode == 0, _output(test)
    assert "SUCCESS" in test.stdout, _output(test)


@pytest.mark.parametrize("rules_overrides,alert,reason", list(FAILING.values()), ids=list(FAILING))
def test_promtool_fails_when_rules_differ_from_their_test(promtool, tmp_path, rules_overrides, alert, reason):
    write(tmp_path, rules_overrides, {})
    check = promtool(tmp_path, "check", "rules", f"{MOUNT}/{RULES}")
    assert check.returncode == 0, _output(check)
    test = promtool(tmp_path, "test", "rules", f"{MOUNT}/{TESTS}")
    assert test.returncode != 0, _output(test)
    output = test.stdout + test.stderr
    assert f"alertname: {alert}," in output, _output(test)
    assert reason in output, _output(test)
    for other in set(ALERTS) - {alert}:
        assert f"alertname: {other}," not in output, _output(test)
