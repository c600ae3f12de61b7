# -*- coding: utf-8 -*-
"""Tests for plugins/module_utils/_run_id.py against a fake /proc."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _run_id as ri
from ansible_collections.taylordash.ops.tests.unit.plugins.module_utils.fakeproc import make_proc, proc_entry

PLAYBOOK = ("/venv/bin/python3", "/venv/bin/ansible-playbook", "site.yml")
OTHER_RUN = ("/venv/bin/python3", "/venv/bin/ansible-playbook", "-e", "x=1", "site.yml")


@pytest.fixture
def proc(tmp_path):
    """Two concurrent runs started by one pytest: run A (main 20, workers 21, 22) and run B (main 30, worker 31)."""
    root = make_proc(tmp_path / "proc", [
        proc_entry(1, 0, ("/sbin/init",)),
        proc_entry(10, 1, ("/venv/bin/python3", "-m", "pytest")),
        proc_entry(20, 10, PLAYBOOK, ticks=5000),
        proc_entry(21, 20, PLAYBOOK, ticks=5100),
        proc_entry(22, 20, PLAYBOOK, ticks=5200),
        proc_entry(23, 21, ("/bin/sh", "-c", "hostname")),
        proc_entry(30, 10, OTHER_RUN, ticks=6000),
        proc_entry(31, 30, OTHER_RUN, ticks=6100),
    ])
    (tmp_path / "proc" / "sys" / "kernel" / "random").mkdir(parents=True)
    (tmp_path / "proc" / "sys" / "kernel" / "random" / "boot_id").write_text("1a2b3c4d-0000-1111-2222-333344445555\n")
    return root


def run_id(pid, proc, environ=None):
    return ri.run_id(pid, proc, environ=environ or {}, hostname="ctl")


def test_every_process_of_a_run_gives_its_main_process(proc):
    assert {run_id(pid, proc) for pid in (20, 21, 22)} == {"ctl:1a2b3c4d:20:5000"}
    assert run_id(31, proc) == run_id(30, proc) == "ctl:1a2b3c4d:30:6000"


def test_a_child_with_another_command_line_is_its_own_top(proc):
    assert ri.main_process(23, proc)["pid"] == 23


def test_the_environment_variable_wins(proc):
    assert run_id(21, proc, environ={"TAYLORDASH_RUN_ID": "ci-job-7"}) == "ci-job-7"
    assert run_id(21, proc, environ={"TAYLORDASH_RUN_ID": ""}) == "ctl:1a2b3c4d:20:5000"


def test_without_proc_it_asks_for_the_environment_variable(tmp_path):
    with pytest.raises(ri.RunIdError, match="set the environment variable TAYLORDASH_RUN_ID"):
        run_id(1, str(tmp_path / "none"))


def test_a_gone_process_is_an_error(proc):
    with pytest.raises(ri.RunIdError, match="process 99 is not in"):
        run_id(99, proc)


def test_missing_boot_id_is_empty(tmp_path):
    root = make_proc(tmp_path / "proc", [proc_entry(5, 0, PLAYBOOK, ticks=7)])
    assert run_id(5, root) == "ctl::5:7"


def test_the_real_process_is_found():
    """The real /proc: this pytest process or an ancestor running the same command line; stable."""
    value = ri.run_id(environ={})
    pid = int(value.split(":")[2])
    assert pid == os.getpid() or ri.main_process(os.getpid())["pid"] == pid
    assert value == ri.run_id(environ={})


def test_a_run_of_this_controller_whose_process_ended_is_gone(proc):
    assert not ri.run_is_gone("ctl:1a2b3c4d:20:5000", proc, hostname="ctl")   # alive
    assert ri.run_is_gone("ctl:1a2b3c4d:40:5000", proc, hostname="ctl")       # no such process
    assert ri.run_is_gone("ctl:1a2b3c4d:20:4999", proc, hostname="ctl")       # pid reused by another process


def test_other_controllers_boots_and_free_form_ids_are_never_gone(proc):
    assert not ri.run_is_gone("other:1a2b3c4d:40:5000", proc, hostname="ctl")
    assert not ri.run_is_gone("ctl:ffffffff:40:5000", proc, hostname="ctl")
    assert not ri.run_is_gone("release-42", proc, hostname="ctl")
    assert not ri.run_is_gone("ctl:1a2b3c4d:x:5000", proc, hostname="ctl")
