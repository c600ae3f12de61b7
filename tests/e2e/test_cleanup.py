"""cleanup.yml, Docker side: removes only what is ours, keeps every volume."""

import json
import uuid

import pytest

from conftest import image_id, playbook, sh

BASE = "taylordash/debian:13"
MOSQUITTO = "taylordash/mosquitto:2.0"
NO_DEV = {"cleanup_dev_servers": False}


def exists(kind, ident):
    return sh("docker", kind, "inspect", ident, check=False).returncode == 0


def build(tmp_path, tag, content):
    ctx = tmp_path / uuid.uuid4().hex
    ctx.mkdir()
    (ctx / "marker").write_text(content)
    # Built FROM one of ours, so it inherits our labels: it must still survive.
    (ctx / "Dockerfile").write_text("FROM %s\nCOPY marker /marker\n" % BASE)
    sh("docker", "build", "-q", "-t", tag, str(ctx))
    return image_id(tag)


@pytest.fixture()
def dangling(tmp_path, mosquitto_rebuilt):
    """A dangling image this collection built (a mosquitto built with a changed argument, then replaced by the
    build of its own inputs), and a dangling one that only inherits our label."""
    ours_old = mosquitto_rebuilt["after"][MOSQUITTO]
    assert mosquitto_rebuilt["restored"].rc == 0 and image_id(MOSQUITTO) != ours_old
    foreign_tag = "example/inherits-our-label-%s:1" % uuid.uuid4().hex[:8]
    foreign_old = build(tmp_path, foreign_tag, "old")
    build(tmp_path, foreign_tag, "new")
    labels = json.loads(sh("docker", "image", "inspect", "--format", "{{json .Config.Labels}}", foreign_old).stdout)
    assert labels.get("org.taylordash.managed") == "true"
    yield ours_old, foreign_old
    sh("docker", "rmi", "-f", foreign_tag, foreign_old, check=False)


def test_cleanup_removes_only_the_dangling_images_it_built(dangling):
    ours_old, foreign_old = dangling
    assert exists("image", ours_old) and exists("image", foreign_old)

    check = playbook("cleanup.yml", "--check", extra_vars=NO_DEV)
    assert check.rc == 0 and check.changed >= 1, check
    assert ours_old in check.out, check
    assert foreign_old not in check.out
    assert exists("image", ours_old), "check mode removed an image"

    run = playbook("cleanup.yml", extra_vars=NO_DEV)
    assert run.rc == 0 and run.changed >= 1, run
    assert not exists("image", ours_old)
    assert exists("image", foreign_old), "cleanup removed an image it did not build"

    again = playbook("cleanup.yml", extra_vars=NO_DEV)
    assert again.rc == 0 and again.changed == 0, again


@pytest.fixture()
def stray(tmp_path, engine):
    """A stray compose project with data in a named volume, labelled leftovers, and unrelated objects."""
    name = "straytest%s" % uuid.uuid4().hex[:6]
    project = tmp_path / "legacy"
    project.mkdir()
    (project / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: %s\n    command: [sleep, infinity]\n    volumes: [data:/data]\n"
        "volumes:\n  data: {}\n" % BASE)
    compose = ["docker", "compose", "-p", name, "--project-directory", str(project)]
    sh(*compose, "up", "-d")
    sh(*compose, "exec", "-T", "db", "sh", "-c", "echo precious > /data/file")
    label = "com.docker.compose.project=%s" % name
    sh("docker", "run", "--name", name + "-leftover", "--label", label, BASE, "true")
    sh("docker", "network", "create", "--label", label, name + "_extra")
    other = "unrelated%s" % uuid.uuid4().hex[:6]
    sh("docker", "run", "-d", "--name", other, BASE, "sleep", "600")
    sh("docker", "run", "--name", other + "-stopped", BASE, "true")
    sh("docker", "network", "create", other + "_net")
    sh("docker", "volume", "create", other + "_vol")
    yield name, project, compose, other
    sh(*compose, "down", check=False)
    sh("docker", "rm", "-f", other, other + "-stopped", name + "-leftover", check=False)
    sh("docker", "network", "rm", other + "_net", name + "_extra", check=False)
    sh("docker", "volume", "rm", other + "_vol", name + "_data", check=False)


def test_cleanup_brings_stray_project_down_keeps_its_data_and_spares_the_rest(stray):
    name, project, compose, other = stray
    extra = dict(NO_DEV, cleanup_compose_projects=[{"name": name, "project_src": str(project)}])

    check = playbook("cleanup.yml", "--check", extra_vars=extra)
    assert check.rc == 0 and check.changed >= 1, check
    assert "container %s-leftover" % name in check.out
    assert "network %s_extra" % name in check.out
    assert sh(*compose, "ps", "-q").stdout.strip(), "check mode brought the project down"
    assert exists("container", name + "-leftover")

    run = playbook("cleanup.yml", extra_vars=extra)
    assert run.rc == 0 and run.changed >= 1, run
    assert not sh(*compose, "ps", "-aq").stdout.strip()
    assert not exists("container", name + "-leftover")
    assert not exists("network", name + "_extra")
    assert exists("volume", name + "_data"), "the project's volume must be kept"
    for kind, ident in [("container", other), ("container", other + "-stopped"),
                        ("network", other + "_net"), ("volume", other + "_vol")]:
        assert exists(kind, ident), "unrelated %s %s was removed" % (kind, ident)

    again = playbook("cleanup.yml", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again

    sh(*compose, "up", "-d")
    data = sh(*compose, "exec", "-T", "db", "cat", "/data/file").stdout.strip()
    assert data == "precious"


def test_volumes_are_deleted_only_when_confirmed(stray):
    name, project, compose, _ = stray
    # (Without cleanup_remove_volumes_confirm the run is refused before any signal: test_bad_input.py.)
    extra = dict(NO_DEV, cleanup_compose_projects=[{"name": name, "project_src": str(project)}],
                 cleanup_remove_volumes=True)
    assert sh(*compose, "ps", "-q").stdout.strip()
    confirmed = playbook("cleanup.yml", extra_vars=dict(extra, cleanup_remove_volumes_confirm="delete-volumes"))
    assert confirmed.rc == 0, confirmed
    assert not exists("volume", name + "_data")
