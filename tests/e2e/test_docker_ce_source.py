"""The docker-ce source renders a repository apt can read, without reaching it."""

import subprocess
import textwrap

from conftest import ROOT, ansible_env, playbook

CODENAME = dict(
    line.split("=", 1) for line in open("/etc/os-release", encoding="utf-8").read().split("\n") if "=" in line
)["VERSION_CODENAME"].strip('"')
FAKE_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot-a-real-key\n-----END PGP PUBLIC KEY BLOCK-----\n"


def test_docker_ce_repository_is_rendered_and_parsed_by_apt(tmp_path):
    play = tmp_path / "render.yml"
    play.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: true
          tasks:
            - ansible.builtin.include_role:
                name: docker_engine
                tasks_from: plan
            - ansible.builtin.include_role:
                name: docker_engine
                tasks_from: repo_docker_ce
        """))
    sources = tmp_path / "sources.list.d"
    keyrings = tmp_path / "keyrings"
    sources.mkdir()
    extra = {
        "docker_engine_source": "docker-ce",
        "docker_engine_apt_sources_dir": str(sources),
        "docker_engine_apt_keyrings_dir": str(keyrings),
        "docker_engine_docker_ce_gpg_key": FAKE_KEY,
    }
    first = playbook(str(play), extra_vars=extra)
    assert first.rc == 0, first
    rendered = (sources / "docker.sources").read_text()
    assert "URIs: https://download.docker.com/linux/debian\n" in rendered
    assert "Suites: %s\n" % CODENAME in rendered
    assert "Components: stable\n" in rendered
    assert "Signed-By: %s/docker.asc\n" % keyrings in rendered
    assert (keyrings / "docker.asc").read_text() == FAKE_KEY
    again = playbook(str(play), extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again

    uris = subprocess.run(
        ["apt-get", "update", "--print-uris", "-o", "Dir::Etc::SourceList=/dev/null",
         "-o", "Dir::Etc::SourceParts=%s" % sources, "-o", "Dir::State::Lists=%s" % tmp_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, env=ansible_env(), cwd=ROOT)
    assert uris.returncode == 0, uris.stderr
    assert "'https://download.docker.com/linux/debian/dists/%s/InRelease'" % CODENAME in uris.stdout
