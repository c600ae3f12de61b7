"""image_ship_plan and image_keep_plan: which images travel to a host, which app images it keeps."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.images import (rendered_by_image, image_keep_plan, image_ref_name,
                                                                        image_ship_plan)


def img(ident, *tags, created=0):
    return {"Id": "sha256:" + ident, "RepoTags": list(tags), "Created": created}


BUILD = [img("a1", "taylordash/postgres:17"), img("b1", "postgres:17", "postgres:latest"),
         img("c1", "taylordash/backend:3f2a")]


@pytest.mark.parametrize("ref, name", [
    ("docker.io/library/postgres:17", "postgres:17"),
    ("docker.io/prom/prometheus:v2", "prom/prometheus:v2"),
    ("quay.io/x/y:1", "quay.io/x/y:1"),
    ("taylordash/backend:3f2a", "taylordash/backend:3f2a"),
])
def test_ref_name_as_the_engine_lists_it(ref, name):
    assert image_ref_name(ref) == name


def test_ships_absent_and_different_ids_only():
    target = [img("a1", "taylordash/postgres:17"), img("old", "taylordash/backend:3f2a")]
    plan = image_ship_plan(["taylordash/postgres:17", "taylordash/backend:3f2a", "docker.io/library/postgres:17"],
                           BUILD, target)
    assert plan["ship"] == ["taylordash/backend:3f2a", "docker.io/library/postgres:17"]
    assert plan["ids"]["taylordash/postgres:17"] == "sha256:a1"
    assert plan["missing"] == [] and plan["untagged"] == []


def test_nothing_to_ship_when_all_ids_match():
    assert image_ship_plan(["taylordash/postgres:17"], BUILD, BUILD)["ship"] == []


def test_archive_name_depends_on_the_set_not_its_order():
    one = image_ship_plan(["taylordash/postgres:17", "taylordash/backend:3f2a"], BUILD, [])
    two = image_ship_plan(["taylordash/backend:3f2a", "taylordash/postgres:17"], BUILD, [])
    other = image_ship_plan(["taylordash/postgres:17"], BUILD, [])
    changed = image_ship_plan(["taylordash/postgres:17", "taylordash/backend:3f2a"],
                              [img("a2", "taylordash/postgres:17"), BUILD[2]], [])
    assert one["archive"] == two["archive"]
    assert len({one["archive"], other["archive"], changed["archive"]}) == 3
    assert one["archive"].startswith("images-") and one["archive"].endswith(".tar")


def test_missing_and_untagged_refs_are_reported():
    plan = image_ship_plan(["taylordash/nothere:1", "taylordash/postgres", "postgres@sha256:" + "0" * 64,
                            "registry:5000/x"], BUILD, [])
    assert plan["missing"] == ["taylordash/nothere:1"]
    assert plan["untagged"] == ["taylordash/postgres", "postgres@sha256:" + "0" * 64, "registry:5000/x"]
    assert plan["ship"] == []


def test_refs_must_be_a_list():
    with pytest.raises(AnsibleFilterError):
        image_ship_plan("taylordash/postgres:17", BUILD, [])


REPO = "taylordash/backend"
CUR, PREV = REPO + ":current", REPO + ":previous"
APPS = [img("new", REPO + ":c3", created=300), img("mid", REPO + ":b2", CUR, created=200),
        img("old", REPO + ":a1", PREV, created=100), img("older", REPO + ":z0", created=50),
        img("other", "taylordash/frontend:x", created=10)]


def names(entries):
    return [entry["name"] for entry in entries]


def marks(plan):
    return {entry["name"]: entry["id"][7:] for entry in plan["tag"]}


def test_keep_moves_the_marks_and_removes_older_tags():
    plan = image_keep_plan(APPS, [], [REPO], [REPO + ":c3"], 2)
    assert marks(plan) == {CUR: "new", PREV: "mid"}
    # The marks move by the tags above; the other tags of older images go.
    assert names(plan["remove"]) == [REPO + ":a1", REPO + ":z0"]


def test_keep_previous_is_the_one_current_before_not_the_newest():
    """A deploy of an older image (a rollback, or images arriving out of build order)."""
    apps = [img("new", REPO + ":c3", created=300), img("mid", REPO + ":b2", CUR, created=200),
            img("old", REPO + ":a1", created=100)]
    plan = image_keep_plan(apps, [], [REPO], [REPO + ":a1"], 2)
    assert marks(plan) == {CUR: "old", PREV: "mid"}
    assert names(plan["remove"]) == [REPO + ":c3"]


def test_a_rollback_moves_current_back_and_leaves_no_previous_to_move_forward_to():
    """After rollback.yml returned to `old`: current is `old`, nothing is previous (the newer `mid` keeps its own
    tag, so a later deploy can name it), and a second rollback finds nothing earlier."""
    apps = [img("mid", REPO + ":b2", CUR, created=200), img("old", REPO + ":a1", PREV, created=100)]
    plan = image_keep_plan(apps, [], [REPO], [REPO + ":a1"], 2, rollback=True)
    assert marks(plan) == {CUR: "old"}
    assert plan["remove"] == [{"repository": REPO, "id": "sha256:old", "name": PREV}]
    after = [img("mid", REPO + ":b2", created=200), img("old", REPO + ":a1", CUR, created=100)]
    assert image_keep_plan(after, [], [REPO], [REPO + ":a1"], 2, rollback=True) == {"tag": [], "remove": []}


def test_keep_never_removes_an_image_a_container_uses():
    plan = image_keep_plan(APPS, [{"ImageID": "sha256:older"}], [REPO], [REPO + ":c3"], 2)
    assert names(plan["remove"]) == [REPO + ":a1"]


def test_keep_nothing_to_do_when_the_marks_are_in_place():
    apps = [img("new", REPO + ":c3", CUR, created=3), img("mid", REPO + ":b2", PREV, created=2)]
    assert image_keep_plan(apps, [], [REPO], [REPO + ":c3"], 2) == {"tag": [], "remove": []}
    assert image_keep_plan(apps, [], [REPO], [], 2) == {"tag": [], "remove": []}


def test_keep_without_current_refs_and_marks_takes_the_newest():
    apps = [img("a", REPO + ":1", created=1), img("b", REPO + ":2", created=2)]
    assert marks(image_keep_plan(apps, [], [REPO], [], 2)) == {CUR: "b", PREV: "a"}


def test_keep_removes_by_id_an_image_left_with_only_moving_marks():
    apps = [img("new", REPO + ":c3", created=3), img("mid", REPO + ":b2", CUR, created=2),
            img("old", PREV, created=1)]
    plan = image_keep_plan(apps, [], [REPO], [REPO + ":c3"], 2)
    assert marks(plan) == {CUR: "new", PREV: "mid"}
    assert names(plan["remove"]) == ["sha256:old"]


def test_keep_count_one_keeps_no_previous():
    plan = image_keep_plan(APPS, [], [REPO], [REPO + ":c3"], 1)
    assert marks(plan) == {CUR: "new"}
    assert names(plan["remove"]) == [REPO + ":b2", REPO + ":a1", PREV, REPO + ":z0"]


def test_keep_iso_created_dates_sort_too():
    apps = [img("a", REPO + ":1", created="2026-01-01T00:00:00Z"), img("b", REPO + ":2", created="2026-02-01T00:00:00.5Z")]
    assert marks(image_keep_plan(apps, [], [REPO], [], 2)) == {CUR: "b", PREV: "a"}


def test_keep_ignores_repositories_without_images():
    assert image_keep_plan(APPS, [], ["taylordash/none"], [], 2) == {"tag": [], "remove": []}


@pytest.mark.parametrize("count", [0, "x"])
def test_keep_count_must_be_a_positive_integer(count):
    with pytest.raises(AnsibleFilterError):
        image_keep_plan(APPS, [], [REPO], [], count)


# image_build_plan: which offline builds are stale, decided from rendered templates.

from ansible_collections.taylordash.ops.plugins.filter.images import build_file_mode, image_build_plan  # noqa: E402

LABEL = "org.taylordash.inputs-hash"
REFS = {"base": "taylordash/debian:13", "python": "taylordash/python:3.13", "traefik": "taylordash/traefik:3.7"}
BUILDS = [{"name": "python", "from": ["base"], "args": {}},
          {"name": "traefik", "from": ["python", "base"], "args": {"TRAEFIK_VERSION": "3.7.15"}}]


def rendered(python="FROM base\n", traefik="FROM python\n", script="#!/bin/sh\n"):
    return {"python": {"paths": ["Dockerfile.j2"], "contents": [python], "dirs": []},
            "traefik": {"paths": ["Dockerfile.j2", "entry.sh"], "contents": [traefik, script], "dirs": []}}


def labelled(ident, tag, digest):
    return {"Id": "sha256:" + ident, "RepoTags": [tag], "Config": {"Labels": {LABEL: digest}}}


def plan_for(images, files=None, builds=BUILDS):
    return image_build_plan(builds, files or rendered(), images, REFS, {"org.taylordash.managed": "true"}, LABEL)


def engine_after_building(plan, base_id="b0"):
    """The images a build of every stale image would leave, labelled with their planned hashes."""
    return [img(base_id, REFS["base"])] + [labelled(name + "1", REFS[name], digest)
                                            for name, digest in plan["hashes"].items()]


def test_every_image_is_stale_on_an_empty_engine_and_the_missing_base_is_named():
    plan = plan_for([])
    assert plan["stale"] == ["python", "traefik"]
    assert plan["missing_bases"] == ["taylordash/debian:13"]
    assert all(len(digest) == 64 for digest in plan["hashes"].values())


def test_nothing_is_stale_once_each_image_carries_its_planned_hash():
    first = plan_for([img("b0", REFS["base"])])
    again = plan_for(engine_after_building(first))
    assert again["stale"] == [] and again["hashes"] == first["hashes"] and again["missing_bases"] == []


def test_a_changed_file_makes_that_image_and_the_images_built_from_it_stale():
    built = engine_after_building(plan_for([img("b0", REFS["base"])]))
    assert plan_for(built, rendered(traefik="FROM python\nUSER 1000\n"))["stale"] == ["traefik"]
    # python is a base of traefik: its planned hash reaches traefik's before python is rebuilt.
    assert plan_for(built, rendered(python="FROM base\nRUN true\n"))["stale"] == ["python", "traefik"]


def test_a_new_base_image_id_makes_every_image_built_from_it_stale():
    built = engine_after_building(plan_for([img("b0", REFS["base"])]))
    rebased = [img("b1", REFS["base"])] + built[1:]
    assert plan_for(rebased)["stale"] == ["python", "traefik"]


def test_build_args_and_the_executable_bit_count():
    built = engine_after_building(plan_for([img("b0", REFS["base"])]))
    args = [BUILDS[0], dict(BUILDS[1], args={"TRAEFIK_VERSION": "3.7.16"})]
    assert plan_for(built, builds=args)["stale"] == ["traefik"]
    files = rendered()
    files["traefik"]["paths"][1] = "entry.txt"  # same content, no longer executable (and another name)
    assert plan_for(built, files)["stale"] == ["traefik"]


@pytest.mark.parametrize("path, mode", [("run.sh", "0755"), ("run.sh.j2", "0755"), ("Dockerfile.j2", "0644"),
                                        ("sh.conf", "0644")])
def test_build_file_mode(path, mode):
    assert build_file_mode(path) == mode


@pytest.mark.parametrize("builds, files, message", [
    ({}, rendered(), "must be a list"),
    ([{"name": "node", "from": [], "args": {}}], rendered(), "no rendered files or image reference for 'node'"),
    (BUILDS, {"python": {"paths": ["a", "b"], "contents": ["x"]}, "traefik": {}}, "2 paths but 1 contents"),
])
def test_build_plan_refuses_inconsistent_input(builds, files, message):
    with pytest.raises(AnsibleFilterError, match=message):
        image_build_plan(builds, files, [], REFS, {}, LABEL)


def test_one_render_of_every_template_is_grouped_by_build():
    tree = [{"path": "postgres", "state": "directory"}, {"path": "postgres/Dockerfile.j2", "state": "file"},
            {"path": "postgres/conf", "state": "directory"}, {"path": "postgres/conf/pg.conf.j2", "state": "file"},
            {"path": "python/Dockerfile.j2", "state": "file"}, {"path": "base/apt.conf.j2", "state": "file"}]
    files = [entry for entry in tree if entry["state"] == "file" and not entry["path"].startswith("base/")]
    out = rendered_by_image(files, ["FROM a", "x=1", "FROM b"], tree, ["postgres", "python", "mosquitto"])
    assert out == {"postgres": {"paths": ["Dockerfile.j2", "conf/pg.conf.j2"], "contents": ["FROM a", "x=1"], "dirs": ["conf"]},
                   "python": {"paths": ["Dockerfile.j2"], "contents": ["FROM b"], "dirs": []},
                   "mosquitto": {"paths": [], "contents": [], "dirs": []}}


def test_one_render_needs_a_text_per_file():
    with pytest.raises(AnsibleFilterError, match="2 files but 1 contents"):
        rendered_by_image([{"path": "a/x"}, {"path": "a/y"}], ["only one"], [], ["a"])
