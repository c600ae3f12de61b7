"""The deploy lock on localhost: a second run waits, then fails naming the holder; a stale lock can be broken.

Runs a tiny playbook of its own (roles/taylordash tasks_from lock and unlock) with a lock file in a
temporary directory; no Docker stack is needed.
"""

import json
import subprocess
import time

from conftest import ROOT, Run, ansible_env, playbook

PLAYBOOK = """\
---
- name: Hold the deploy lock for a while
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Take the lock, sleep, release it
      block:
        - name: Take the deploy lock
          ansible.builtin.include_role:
            name: taylordash
            tasks_from: lock
        - name: Deploy slowly
          ansible.builtin.command: sleep {{ hold_seconds | default(0) }}
          changed_when: false
      always:
        - name: Release the deploy lock
          ansible.builtin.include_role:
            name: taylordash
            tasks_from: unlock
"""


def test_second_run_waits_then_fails_naming_the_holder_and_a_break_lets_a_third_through(tmp_path):
    book = tmp_path / "lock-holder.yml"
    book.write_text(PLAYBOOK)
    lock = tmp_path / "state" / "deploy.lock"
    first_vars = {"taylordash_lock_path": str(lock), "hold_seconds": 20}
    first = subprocess.Popen(["ansible-playbook", str(book), "-e", json.dumps(first_vars)], cwd=ROOT,
                             env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not lock.exists():
            assert first.poll() is None, "the first run ended before taking the lock:\n" + first.stdout.read()
            assert time.monotonic() < deadline, "the first run did not take the lock within 60s"
            time.sleep(0.2)
        holder = json.loads(lock.read_text())
        assert holder["playbook"] == "Hold the deploy lock for a while in %s" % tmp_path
        assert holder["user"] and holder["controller"] and holder["run_id"] and holder["since"].endswith("Z")

        started = time.monotonic()
        second = playbook(str(book), stack_vars=False, timeout=120,
                          extra_vars={"taylordash_lock_path": str(lock), "taylordash_lock_timeout": 3})
        assert second.rc != 0, second
        assert time.monotonic() - started >= 3
        expected = "is held by %s@%s running %s since %s" % (holder["user"], holder["controller"],
                                                             holder["playbook"], holder["since"])
        assert expected in second.out, second
        assert "waited 3s" in second.out and "-e taylordash_lock_break=true" in second.out, second
        assert json.loads(lock.read_text()) == holder  # neither taken over nor released by the waiting run

        third = playbook(str(book), stack_vars=False, timeout=120,
                         extra_vars={"taylordash_lock_path": str(lock), "taylordash_lock_break": True})
        assert third.rc == 0, third
        assert "broke deploy lock %s" % lock in third.out, third
        assert "held by %s@%s running %s" % (holder["user"], holder["controller"], holder["playbook"]) in third.out
        assert third.changed == 0, third
        assert not lock.exists()  # the third run released its own lock

        out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # the first run's lock was broken, so its release finds no lock: it still succeeds, and no lock task changed
    first_run = Run(subprocess.CompletedProcess(first.args, first.returncode, out))
    assert first_run.rc == 0, first_run
    assert first_run.recap["localhost"]["changed"] == 0 and first_run.recap["localhost"]["failed"] == 0, first_run
    assert not lock.exists()


def test_a_lock_left_by_a_run_of_this_controller_that_ended_is_broken_with_a_warning(tmp_path):
    book = tmp_path / "lock-holder.yml"
    book.write_text(PLAYBOOK)
    lock = tmp_path / "state" / "deploy.lock"
    lock.parent.mkdir()
    boot = open("/proc/sys/kernel/random/boot_id").read().strip().replace("-", "")[:8]
    host = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    # This controller and boot; a pid that no process has (above the kernel's pid_max).
    gone = {"controller": host, "user": "someone", "playbook": "an interrupted deploy",
            "run_id": "%s:%s:%d:1" % (host, boot, 2 ** 22 + 1), "since": "2026-01-01T00:00:00Z"}
    lock.write_text(json.dumps(gone))
    run = playbook(str(book), stack_vars=False, timeout=120,
                   extra_vars={"taylordash_lock_path": str(lock), "taylordash_lock_timeout": 5})
    assert run.rc == 0, run
    assert "broke deploy lock %s" % lock in run.out and "someone@%s running an interrupted deploy" % host in run.out, run
    assert not lock.exists()  # taken, then released by this run
