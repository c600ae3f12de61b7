"""cleanup.yml removes our dangling images only: check mode lists them, a second run changes nothing."""

import json
import uuid

import pytest

from conftest import playbook, sh

BASE = "taylordash/debian:13"


def build(tmp_path, tag, content, labelled):
    ctx = tmp_path / uuid.uuid4().hex
    ctx.mkdir()
    # Labels are inherited, so a foreign image must not be built from one of ours.
    (ctx / "marker").write_text(content)
    if labelled:
        dockerfile = "FROM %s\nLABEL org.taylordash.managed=true\nCOPY marker /marker\n" % BASE
    else:
        dockerfile = "FROM scratch\nLABEL org.example.other=true\nCOPY marker /marker\n"
    (ctx / "Dockerfile").write_text(dockerfile)
    sh("docker", "build", "-q", "-t", tag, str(ctx))
    return sh("docker", "image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def exists(image_id):
    return sh("docker", "image", "inspect", image_id, check=False).returncode == 0


@pytest.fixture()
def dangling(tmp_path, engine):
    """One dangling image with our label and one without, made by retagging."""
    suffix = uuid.uuid4().hex[:8]
    ours_tag, foreign_tag = "taylordash/cleanup-test-%s:1" % suffix, "example/cleanup-test-%s:1" % suffix
    ours_old = build(tmp_path, ours_tag, "old-" + suffix, True)
    build(tmp_path, ours_tag, "new-" + suffix, True)
    foreign_old = build(tmp_path, foreign_tag, "old-" + suffix, False)
    build(tmp_path, foreign_tag, "new-" + suffix, False)
    yield ours_old, foreign_old
    sh("docker", "rmi", "-f", ours_tag, foreign_tag, check=False)
    sh("docker", "rmi", "-f", foreign_old, check=False)


def test_cleanup_removes_only_our_dangling_images(dangling):
    ours_old, foreign_old = dangling
    assert exists(ours_old) and exists(foreign_old)

    check = playbook("cleanup.yml", "--check")
    assert check.rc == 0 and check.changed >= 1, check
    assert ours_old in check.out, check
    assert foreign_old not in check.out
    assert exists(ours_old), "check mode removed an image"

    run = playbook("cleanup.yml")
    assert run.rc == 0 and run.changed >= 1, run
    assert not exists(ours_old)
    assert exists(foreign_old), "cleanup removed an image that is not ours"

    again = playbook("cleanup.yml")
    assert again.rc == 0 and again.changed == 0, again


def test_cleanup_keeps_every_tagged_image(engine):
    before = json.loads(sh("docker", "image", "ls", "--format", "{{json .ID}}", "--filter", "dangling=false").stdout
                        .replace("\n", ",").rstrip(",").join("[]"))
    run = playbook("cleanup.yml")
    assert run.rc == 0, run
    after = json.loads(sh("docker", "image", "ls", "--format", "{{json .ID}}", "--filter", "dangling=false").stdout
                       .replace("\n", ",").rstrip(",").join("[]"))
    assert set(before) <= set(after)
