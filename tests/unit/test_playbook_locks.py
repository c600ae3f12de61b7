"""Every playbook that changes a host holds that host's deploy lock (issue 16: one lock), read from the
playbooks' YAML: it takes the lock before its tasks and releases it in its rescue and at its end, or it
imports a playbook that does. health-check.yml and audit.yml only read."""

from pathlib import Path

import pytest
import yaml

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
READ_ONLY = {"health-check.yml", "audit.yml"}


def includes(node, key="tasks_from"):
    """Every value of `key` in the imports and includes of the taylordash role found anywhere in node."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name in ("ansible.builtin.import_role", "ansible.builtin.include_role") and value.get("name") == "taylordash":
                yield value.get(key, "main")
            else:
                yield from includes(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from includes(item, key)


def test_the_read_only_playbooks_exist():
    assert READ_ONLY <= {path.name for path in PLAYBOOKS.glob("*.yml")}


@pytest.mark.parametrize("path", sorted(p for p in PLAYBOOKS.glob("*.yml") if p.name not in READ_ONLY),
                         ids=lambda p: p.name)
def test_a_playbook_that_changes_a_host_takes_and_releases_the_lock(path):
    plays = yaml.safe_load(path.read_text())
    imported = [play["ansible.builtin.import_playbook"] for play in plays if "ansible.builtin.import_playbook" in play]
    used = list(includes(plays))
    # A playbook that imports deploy-prod.yml holds the lock through it (checked itself).
    assert "lock" in used or any(Path(name).name == "deploy-prod.yml" for name in imported), \
        "%s never takes the deploy lock" % path.name
    for play in plays:
        if "lock" in list(includes(play)):
            # Taken before the play's tasks, so nothing changes before it is held; given back at the end, and
            # by the rescue of the block that holds the play's tasks when one of them fails.
            assert "lock" in list(includes(play.get("pre_tasks", []))), "%s: the lock is not a pre_task" % path.name
            # (or by the deploy-prod.yml it imports afterwards, which holds the same run's lock until its end).
            ending = list(includes(play.get("post_tasks", []))) + list(includes(plays[-1].get("tasks", [])))
            assert {"unlock", "unlock_all"} & set(ending) or any(Path(name).name == "deploy-prod.yml" for name in imported), \
                "%s never releases the deploy lock" % path.name
            rescued = [name for task in play.get("tasks", []) for name in includes(task.get("rescue", []))]
            assert {"unlock", "unlock_all"} & set(rescued), "%s: a failed task keeps the lock" % path.name
