# -*- coding: utf-8 -*-
"""The one rule for unit tests that need the real Docker engine and a local image.

Without the docker CLI, a reachable engine or the image (never pulled), such a
test is skipped when run by hand. `make test` sets TAYLORDASH_REQUIRE_ENGINE=1
and runs the unit tests after molecule built the images: there the same
condition fails the test instead, so CI cannot pass by skipping.
"""

import os
import shutil
import subprocess

import pytest


def require_image(image, purpose):
    """Return ``image`` if the engine has it; otherwise skip (by hand) or fail (under make test)."""
    unavailable = pytest.fail if os.environ.get("TAYLORDASH_REQUIRE_ENGINE") == "1" else pytest.skip
    if shutil.which("docker") is None:
        unavailable("docker CLI not found: %s skipped" % purpose)
    try:
        found = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image],
                               capture_output=True, text=True, check=False, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable("docker not usable (%s): %s skipped" % (exc, purpose))
    if found.returncode != 0:
        reason = (found.stderr.strip().splitlines() or ["no output"])[-1]
        unavailable("image %s not available (docker image inspect: %s; the images role builds it): %s skipped"
                    % (image, reason, purpose))
    return image
