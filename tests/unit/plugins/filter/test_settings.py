"""port_plan_errors: the port plan's own problems in the port_plan module's words, without a module run."""

import pytest

from ansible_collections.taylordash.ops.plugins.filter.settings import port_plan_errors


def test_a_sound_plan_has_no_errors():
    assert port_plan_errors({"backend": 3000, "frontend": {"port": 5173, "address": "127.0.0.1"}}) == []


@pytest.mark.parametrize("plan,fragments", [
    ({"backend": 3000, "frontend": 3000}, ["taylordash_port_plan cannot be used, 1 plan error(s)",
                                           "also planned for"]),
    ({"backend": 70000}, ["taylordash_port_plan.backend"]),
])
def test_each_problem_is_named_once_in_one_message(plan, fragments):
    errors = port_plan_errors(plan, "taylordash_port_plan")
    assert len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0], errors
