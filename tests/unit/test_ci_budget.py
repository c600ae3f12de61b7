"""CI's budget per issue (tests/e2e/conftest.py): each later issue's end-to-end tests are named by file and by a
part of their name; a renamed test or file must not silently count as the redesign's."""

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests" / "e2e"


def _conftest():
    spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tests_of(path):
    return [node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def test_every_pattern_names_a_test_of_its_file():
    conftest = _conftest()
    for issue, files in conftest.LATER_ISSUES.items():
        assert issue in conftest.BUDGET_MINUTES and issue > 12
        for name, parts in files.items():
            tests = _tests_of(E2E / name)
            for part in parts:
                assert any(part in test for test in tests), "issue %d: no test of %s has %r" % (issue, name, part)


def test_a_test_counts_against_the_issue_that_added_it_and_the_rest_against_the_redesign():
    issue_of = _conftest().issue_of
    assert issue_of("tests/e2e/test_zero_downtime.py::test_a_failing_migration_changes_nothing") == 13
    assert issue_of("tests/e2e/test_backup.py::test_retention_keeps_the_counts[x]") == 14
    assert issue_of("tests/e2e/test_infrastructure.py::test_an_unfinished_postgres_upgrade_stops_the_run") == 14
    assert issue_of("tests/e2e/test_infrastructure.py::test_second_run_changes_nothing") == 12
    assert issue_of("tests/e2e/test_acme.py::test_an_acme_storage_that_root_owns_is_handed_to_traefik") == 16
    assert issue_of("tests/e2e/test_acme.py::test_health_check_verifies_against_the_trust_bundle") == 12
    assert issue_of("tests/e2e/test_dev.py::test_three_runs_leave_one_backend_and_one_frontend") == 12
    # The budgets the issues' texts give: the redesign's 35 minutes, then 8, 12, 5 and 10 on top.
    assert _conftest().BUDGET_MINUTES == {12: 35, 13: 8, 14: 12, 15: 5, 16: 10}
