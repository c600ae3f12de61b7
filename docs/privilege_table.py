#!/usr/bin/env python3
"""Print the README's privilege table from the shipped service catalogue, or with --write put it in README.md
between its markers (tests/unit/plugins/module_utils/test__catalogue.py checks it is current)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "collections"), str(ROOT / "tests" / "unit"), str(ROOT / "tests" / "unit" / "plugins" / "module_utils")]

from ansible_collections.taylordash.ops.plugins.module_utils import _catalogue  # noqa: E402
from test__catalogue import SHIPPED  # noqa: E402  (the defaults rendered as Ansible renders them)

BEGIN, END = "<!-- privileges:begin -->\n", "<!-- privileges:end -->"


def main():
    table = _catalogue.privilege_table(SHIPPED)
    if "--write" not in sys.argv[1:]:
        sys.stdout.write(table)
        return 0
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + BEGIN + table + END + rest.split(END, 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
