"""What CI reads from an ansible-playbook run: the JUnit XML written by ansible-core's junit callback
(the environment docs/ci.md and `make ... JUNIT=1` set) and the exit status. A tiny local playbook
(debug tasks, no engine, nothing on the host changes), not the shared stack; and docs/ci.md's workflow
sets that same environment."""

import re
import subprocess
import xml.etree.ElementTree as ET

import yaml

from conftest import ROOT, ansible_env

# The environment docs/ci.md's workflow and `make ... JUNIT=1` set (besides JUNIT_OUTPUT_DIR).
JUNIT_ENV = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_HIDE_TASK_ARGUMENTS": "true"}
SECRET = "not-a-real-secret-5f3a"

PLAYBOOK = """---
- name: CI outputs
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
    - name: Hold a secret
      ansible.builtin.set_fact:
        ci_secret: "%s"
      no_log: true
    - name: Never run
      ansible.builtin.debug:
        msg: skipped
      when: false
%s"""

FAILING = """    - name: Fail on purpose
      ansible.builtin.fail:
        msg: failed on purpose
"""


def run_with_junit(tmp_path, fail=False):
    book = tmp_path / "ci_outputs.yml"
    book.write_text(PLAYBOOK % (SECRET, FAILING if fail else ""))
    out = tmp_path / "junit"
    env = ansible_env()
    env.update(JUNIT_ENV, JUNIT_OUTPUT_DIR=str(out))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", str(book)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    reports = sorted(out.glob("*.xml"))
    assert len(reports) == 1, "expected one JUnit report in %s, got %s\n%s" % (out, reports, proc.stdout[-3000:])
    return proc, reports[0]


def cases_of(report):
    suites = ET.parse(report).getroot()
    assert suites.tag == "testsuites"
    return {case.get("name"): case for case in suites.iter("testcase")}


def test_junit_report_has_a_testcase_per_task(tmp_path):
    proc, report = run_with_junit(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report.name.startswith("ci_outputs-")
    cases = cases_of(report)
    assert sorted(cases) == ["[localhost] CI outputs: Hold a secret", "[localhost] CI outputs: Never run",
                             "[localhost] CI outputs: Say hello"]
    assert cases["[localhost] CI outputs: Never run"].find("skipped") is not None
    for name in ("Say hello", "Hold a secret"):
        case = cases["[localhost] CI outputs: " + name]
        assert case.find("failure") is None and case.find("error") is None
    # A no_log task's arguments and result stay out of the report.
    assert SECRET not in report.read_text()


def test_failed_task_is_a_junit_error_and_exit_status_2(tmp_path):
    proc, report = run_with_junit(tmp_path, fail=True)
    assert proc.returncode == 2, proc.stdout[-3000:]
    # ansible-core 2.19 reports a failed task as <error> ("Task failed: ..."), older ones as <failure>.
    case = cases_of(report)["[localhost] CI outputs: Fail on purpose"]
    problem = case.find("error") if case.find("error") is not None else case.find("failure")
    assert problem is not None and "failed on purpose" in problem.get("message"), ET.tostring(case, "unicode")
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == "4" and int(suite.get("errors")) + int(suite.get("failures")) == 1


def test_docs_workflow_and_makefile_set_the_tested_env():
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "ci.md").read_text(), re.S).group(1))
    assert {name: workflow["env"][name] for name in JUNIT_ENV} == JUNIT_ENV
    makefile = (ROOT / "Makefile").read_text()
    for name, value in JUNIT_ENV.items():
        assert re.search(r"^export %s := %s$" % (name, re.escape(value)), makefile, re.M), name
    runs = {job: " ".join(step.get("run", "") for step in spec["steps"]) for job, spec in workflow["jobs"].items()}
    assert "make setup" in runs["lint"] and "make lint" in runs["lint"]
    assert "-i inventories/production deploy-prod.yml --check --diff" in runs["check"]
    assert "-i inventories/production deploy-prod.yml -e taylordash_serial=1" in runs["deploy"]
    assert '--private-key "$RUNNER_TEMP/deploy_key"' in runs["deploy"]
    assert "--check" not in runs["deploy"]
    assert workflow["jobs"]["deploy"]["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
