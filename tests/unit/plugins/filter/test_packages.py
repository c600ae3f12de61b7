"""dpkg_missing: which wanted packages dpkg does not report installed."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.packages import dpkg_missing

LINES = ["docker.io ii ", "docker-compose rc ", "python3-yaml ii ", "libfoo:i386 ii ", "docker-buildx un "]


@pytest.mark.parametrize("wanted, missing", [
    (["docker.io", "python3-yaml"], []),
    (["docker.io", "docker-compose"], ["docker-compose"]),          # removed, config files left
    (["docker-buildx", "docker.io"], ["docker-buildx"]),            # known to dpkg, never installed
    (["python3-requests", "docker.io"], ["python3-requests"]),      # unknown to dpkg: no line at all
    (["libfoo"], []),                                               # a foreign-architecture package
    ([], []),
])
def test_missing_packages_in_the_given_order(wanted, missing):
    assert dpkg_missing(wanted, LINES) == missing


def test_no_output_means_everything_is_missing():
    assert dpkg_missing(["a", "b"], []) == ["a", "b"]


def test_wanted_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        dpkg_missing("docker.io", LINES)
