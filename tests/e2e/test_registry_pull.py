"""The `registry` image source through a private mirror: hosts pull, nothing is built.

No public registry is reachable here, so the test runs a real one (Debian's
docker-registry, the CNCF distribution server) on loopback, pushes two images
this run built under the official references the registry source names (the
others keep their mirror names locally), and lets deploy-prod.yml's images
phase pull the missing ones through images_registry_mirror.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, image_id, playbook, sh

PORT = 5055
MIRROR = "127.0.0.1:%d/" % PORT
IMAGES = yaml.safe_load((ROOT / "roles" / "taylordash" / "defaults" / "main.yml").read_text())["taylordash_images"]
# Built here with either source (the backup service's image, FROM the pulled PostgreSQL image).
LOCAL = [b["name"] for b in yaml.safe_load((ROOT / "roles" / "images" / "vars" / "main.yml").read_text())["images_builds"]
         if b.get("local")]
# The services that have an offline build (MinIO and Grafana are switched off), but those built here anyway.
PULLED = {name: refs for name, refs in IMAGES.items() if refs["build"] and name not in LOCAL}
# Pushed to the registry and pulled back; the mirror names of the others stay on this host, so the
# `missing` pull policy leaves them (pushing every image would cost minutes of gzip on two cores).
PUSHED = ["mosquitto", "haproxy"]
SETTINGS = {"taylordash_image_source": "registry", "images_registry_mirror": MIRROR}


@pytest.fixture(scope="module")
def registry(engine, tmp_path_factory):
    """A registry on 127.0.0.1 holding two of our builds under the official names (the engine allows
    plain HTTP to loopback registries). Their mirror names are untagged here, so the playbook must pull."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    assert Path(binary).exists(), "docker-registry (Debian package) is not installed"
    tmp = tmp_path_factory.mktemp("registry")
    config = tmp / "config.yml"
    config.write_text(yaml.safe_dump({"version": 0.1, "log": {"level": "warn"},
                                      "storage": {"filesystem": {"rootdirectory": str(tmp / "data")}},
                                      "http": {"addr": "127.0.0.1:%d" % PORT}}))
    server = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the registry did not start"
                time.sleep(0.3)
        for name, refs in PULLED.items():
            mirrored = MIRROR + refs["registry"]
            sh("docker", "tag", refs["build"], mirrored)
            if name in PUSHED:
                sh("docker", "push", "-q", mirrored)
                sh("docker", "rmi", mirrored)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)
        for refs in PULLED.values():
            sh("docker", "rmi", MIRROR + refs["registry"], refs["registry"], check=False)
        for name in LOCAL:
            sh("docker", "rmi", IMAGES[name]["registry"], check=False)


def test_hosts_pull_through_the_mirror_and_a_second_run_changes_nothing(registry):
    for name, refs in PULLED.items():
        assert image_id(refs["registry"]) is None, refs["registry"]
        assert (image_id(MIRROR + refs["registry"]) is None) == (name in PUSHED), name
    run = playbook("deploy-prod.yml", "--tags", "images", extra_vars=SETTINGS)
    assert run.rc == 0, run
    built = [line.split("]")[0] for line in run.out.splitlines() if line.startswith("TASK [images : Build: ")]
    assert built == ["TASK [images : Build: %s" % IMAGES[name]["registry"] for name in LOCAL], \
        "the registry source built more than the images it builds here: %s" % built
    assert run.changed >= 1, run
    for name, refs in PULLED.items():
        pulled = image_id(MIRROR + refs["registry"])
        assert pulled is not None, (name, run)
        # The compose files name the official reference: it is the pulled image.
        assert image_id(refs["registry"]) == pulled == image_id(refs["build"]), name
    again = playbook("deploy-prod.yml", "--tags", "images", extra_vars=SETTINGS)
    assert again.rc == 0 and again.changed == 0, again
