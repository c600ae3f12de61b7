# -*- coding: utf-8 -*-
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter import application as f
from ansible_collections.taylordash.ops.plugins.filter.application import dotenv, port_of

def test_dotenv_reads_the_env_file_format():
    assert dotenv("# managed\nA='x y'\nexport B=2\n\nC=\"q\"\n") == {"A": "x y", "B": "2", "C": "q"}


def test_dotenv_errors_name_the_line_not_the_value():
    with pytest.raises(AnsibleFilterError) as err:
        dotenv("A=1\nthis-is-s3cret\n")
    assert "2" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("entry, port", [(3000, 3000), ("5173", 5173), ({"port": 5432, "address": "127.0.0.1"}, 5432)])
def test_port_of_plan_entries(entry, port):
    assert port_of(entry) == port


def _image(repo_tags, image_id):
    return {"Id": image_id, "RepoTags": repo_tags}


ROLLBACK_REPOS = {"backend": "td/backend", "frontend": "td/frontend"}


def _running(backend_id, frontend_id):
    return [{"item": "backend", "container": {"Image": backend_id, "Config": {"Image": "td/backend:run"}}},
            {"item": "frontend", "container": {"Image": frontend_id, "Config": {"Image": "td/frontend:f1"}}}]


def test_rollback_returns_to_previous_when_the_current_image_runs():
    kept = [_image(["td/backend:new", "td/backend:current"], "b2"), _image(["td/backend:old", "td/backend:previous"], "b1"),
            _image(["td/frontend:f1", "td/frontend:current"], "f1")]
    out = f.rollback_refs(kept, _running("b2", "f1"), ROLLBACK_REPOS)
    assert out == {"refs": {"backend": "td/backend:old", "frontend": "td/frontend:f1"}, "back": ["backend"],
                   "kept": ["frontend"]}


def test_rollback_after_a_failed_rollout_returns_to_the_last_healthy_image():
    kept = [_image(["td/backend:old", "td/backend:current"], "b1"), _image(["td/frontend:f1", "td/frontend:current"], "f1")]
    out = f.rollback_refs(kept, _running("b2", "f1"), ROLLBACK_REPOS)
    assert out["refs"]["backend"] == "td/backend:old" and out["back"] == ["backend"]
