# -*- coding: utf-8 -*-
"""Make ``ansible_collections.taylordash.ops`` importable, exactly as the unit tests do."""

import os
import runpy

runpy.run_path(os.path.join(os.path.dirname(__file__), os.pardir, "unit", "conftest.py"))
