# -*- coding: utf-8 -*-
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter.application import dotenv, port_of

def test_dotenv_reads_the_env_file_format():
    assert dotenv("# managed\nA='x y'\nexport B=2\n\nC=\"q\"\n") == {"A": "x y", "B": "2", "C": "q"}


def test_dotenv_errors_name_the_line_not_the_value():
    with pytest.raises(AnsibleFilterError) as err:
        dotenv("A=1\nthis-is-s3cret\n")
    assert "2" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("entry, port", [(3000, 3000), ("5173", 5173), ({"port": 5432, "address": "127.0.0.1"}, 5432)])
def test_port_of_plan_entries(entry, port):
    assert port_of(entry) == port
