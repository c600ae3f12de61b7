"""docker_prune_plan: what a label-scoped prune removes, computed without pruning."""

import pytest

from ansible_collections.taylordash.ops.plugins.filter.cleanup import compose_projects_left, docker_prune_plan
from ansible_collections.taylordash.ops.plugins.filter.dev_server import dev_server_line

KEEP = "org.taylordash.keep"


def container(ident, state, network="proj_default"):
    return {"Id": ident, "Names": ["/" + ident], "State": state,
            "NetworkSettings": {"Networks": {network: {}}}, "HostConfig": {"NetworkMode": network}}


CASES = {
    "stopped-containers-only": (
        [{"containers": [container("a", "exited"), container("b", "running"), container("c", "created"),
                         container("d", "dead"), container("e", "paused")]}], [],
        [("container", "a"), ("container", "c"), ("container", "d")]),
    "network-in-use-by-any-container-is-kept": (
        [{"networks": [{"Id": "n1", "Name": "proj_default"}, {"Id": "n2", "Name": "proj_extra"}]}],
        [container("x", "exited", "proj_default")],
        [("network", "proj_extra")]),
    "kept-image-is-not-pruned": (
        [{"images": [{"Id": "i1", "Labels": {KEEP: "true"}}, {"Id": "i2", "Labels": {KEEP: "false"}},
                     {"Id": "i3", "Labels": None}]}], [],
        [("image", "i2"), ("image", "i3")]),
    "same-object-in-two-projects-listed-once": (
        [{"containers": [container("a", "exited")]}, {"containers": [container("a", "exited")]}], [],
        [("container", "a")]),
    "nothing": ([{"containers": [], "networks": [], "images": []}], [], []),
}


@pytest.mark.parametrize("results,all_containers,expected", list(CASES.values()), ids=list(CASES))
def test_docker_prune_plan(results, all_containers, expected):
    plan = docker_prune_plan(results, all_containers, KEEP)
    got = [(item["type"], item["name"] if item["type"] != "image" else item["id"]) for item in plan]
    assert got == expected


@pytest.mark.parametrize("instance,line", [
    ({"app": "frontend", "pid": 12, "ports": [5176], "kind": "vite"}, "frontend pid=12 ports=[5176] vite"),
    ({"app": None, "pid": 3, "listen": [{"port": 80}, {"port": 80}]}, "- pid=3 ports=[80]"),
    ({"app": "backend", "pid": 7, "ports": [8000], "signal": "SIGKILL"}, "backend pid=7 ports=[8000] signal=SIGKILL"),
], ids=["full", "foreign-from-listen", "with-signal"])
def test_dev_server_line(instance, line):
    assert dev_server_line(instance) == line


def test_cleanup_summary_counts_per_host_and_names_a_missing_result():
    from ansible_collections.taylordash.ops.plugins.filter.cleanup import cleanup_summary
    line = cleanup_summary({"_cleanup_stop": {"stopped": [{}, {}], "kept": [{}], "ports_freed": [8000, 5176]},
                            "_cleanup_down": {"results": [{"changed": True}, {"changed": False}]},
                            "_cleanup_docker_objects": [{"type": "network", "name": "x"}]})
    assert line == ("stopped 2 dev server(s), kept 1, freed ports 8000, 5176, 1 compose project(s) down, "
                    "1 Docker object(s) removed")
    assert cleanup_summary({}) == "no result (failed or unreachable)"


@pytest.mark.parametrize("info,left", [
    ({}, []),
    ({"containers": [{"Labels": {"com.docker.compose.project": "other"}}]}, []),
    ({"containers": [{"Labels": {"com.docker.compose.project": "taylordashv1"}}]}, ["taylordashv1"]),
    ({"networks": [{"Labels": {"com.docker.compose.project": "legacy"}}],
      "volumes": [{"Labels": {"com.docker.compose.project": "taylordashv1"}}]}, ["taylordashv1", "legacy"]),
    ({"networks": [{"Labels": None}]}, []),
])
def test_only_stray_projects_that_left_something_are_brought_down(info, left):
    assert compose_projects_left(info, ["taylordashv1", "legacy"]) == left
