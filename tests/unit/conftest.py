# -*- coding: utf-8 -*-
"""Make ``ansible_collections.taylordash.ops`` importable in unit tests.

/work/main/collections/ansible_collections/taylordash/ops is a symlink to the
repository root. The venv also ships an ``ansible_collections`` namespace
package (the ``ansible`` community package); both are namespace packages, so
putting our ``collections`` directory first on sys.path merges the two. If
``ansible_collections`` was imported before this conftest ran, its __path__ is
extended explicitly as well.
"""

import os
import sys

COLLECTIONS_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "collections")
)
OUR_NAMESPACE = os.path.join(COLLECTIONS_DIR, "ansible_collections")

if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)

_loaded = sys.modules.get("ansible_collections")
if _loaded is not None and OUR_NAMESPACE not in list(getattr(_loaded, "__path__", [])):
    try:
        _loaded.__path__.append(OUR_NAMESPACE)
    except AttributeError:  # a plain list __path__
        _loaded.__path__ = [OUR_NAMESPACE] + list(_loaded.__path__)
