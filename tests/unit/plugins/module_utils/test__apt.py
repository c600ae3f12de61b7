# -*- coding: utf-8 -*-
"""plugins/module_utils/_apt.py: the mirrors a host's apt sources name, as `apt-get indextargets` would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _apt

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm-security

Types: deb
URIs: http://deb.debian.org/debian-security/
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://off.example/debian
Suites: trixie
"""
ONE_LINE = """# deb http://commented/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] https://mirror.example/debian/ trixie main
deb-src http://src.example/debian trixie main
deb file:/srv/local bookworm main
"""


def test_deb822_and_one_line_sources_in_order():
    found = _apt.entries([("/etc/apt/sources.list", ONE_LINE), ("/etc/apt/sources.list.d/debian.sources", DEB822),
                          ("/etc/apt/sources.list.d/x.disabled", "deb http://no/ bookworm main\n")])
    assert found == [("https://mirror.example/debian/", ["trixie"]), ("file:/srv/local/", ["bookworm"]),
                     ("http://deb.debian.org/debian/", ["bookworm", "bookworm-updates"]),
                     ("http://deb.debian.org/debian-security/", ["bookworm-security"])]


@pytest.mark.parametrize("pattern,mirror", [
    ("bookworm", "http://deb.debian.org/debian/"),
    ("[a-z]+", "https://mirror.example/debian/"),
    ("[a-z]+-security", "http://deb.debian.org/debian-security/"),
    ("bullseye", ""),
])
def test_the_first_http_mirror_of_a_suite(pattern, mirror):
    found = _apt.entries([("/etc/apt/sources.list", ONE_LINE), ("/etc/apt/sources.list.d/debian.sources", DEB822)])
    assert _apt.mirror_of(found, pattern) == mirror


def test_apt_reads_list_and_sources_files_sorted():
    assert _apt.reading_order(["z.sources", "a.list", "n.disabled-by-farm", "m.list.save"]) == ["a.list", "z.sources"]
