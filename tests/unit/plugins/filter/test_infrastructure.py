# -*- coding: utf-8 -*-
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.filter import infrastructure as f

PORT_MAP = {
    "traefik-web": {"service": "traefik", "target": 80, "public": True},
    "mosquitto": {"service": "mosquitto", "target": 1883, "public": True},
    "postgres": {"service": "postgres", "target": 5432, "public": False},
    "grafana": {"service": "grafana", "target": 3000, "public": False},
}
PLAN = {"traefik-web": 80, "mosquitto": "1883", "postgres": {"port": 5432, "address": "127.0.0.1"},
        "grafana": {"port": 3001, "address": "127.0.0.1"}, "backend": 3000}


CATALOGUE = {"postgres": {"group": "data", "limits": {"memory": "2g", "cpus": 1.0, "pids": 512}},
             "socket-proxy": {"group": "proxy", "image": "haproxy", "limits": {"memory": "64m", "cpus": 0.25, "pids": 64}},
             "minio": {"group": "data", "enabled": False, "limits": {"memory": "1g", "cpus": 1.0, "pids": 512}}}
REFS = {"postgres": "taylordash/postgres:17", "haproxy": "taylordash/haproxy:3.0", "minio": "minio/minio:x"}


def test_services_take_image_and_limits_from_the_catalogue():
    out = f.infrastructure_services(CATALOGUE, ["postgres", "socket-proxy", "minio"], REFS, ["postgres", "socket-proxy"])
    assert out["postgres"] == {"image": "taylordash/postgres:17", "enabled": True, "memory": "2g", "cpus": 1.0,
                               "pids": 512, "healthcheck": None}
    assert out["socket-proxy"]["image"] == "taylordash/haproxy:3.0"
    assert out["minio"]["enabled"] is False


def test_a_service_whose_image_has_no_reference_is_named():
    with pytest.raises(AnsibleFilterError, match=r"taylordash_services.postgres.image: 'postgres'"):
        f.infrastructure_services(CATALOGUE, ["postgres"], {}, ["postgres"])


def test_production_publishes_public_ports_only():
    out = f.published_ports(PORT_MAP, PLAN, ["traefik", "mosquitto", "postgres", "grafana"], "production", [])
    assert sorted(out) == ["mosquitto", "traefik-web"]
    assert out["mosquitto"] == {"port": 1883, "address": "0.0.0.0", "protocol": "tcp", "service": "mosquitto",
                                "target": 1883, "public": True}


def test_development_publishes_internal_ports_of_enabled_services():
    out = f.published_ports(PORT_MAP, PLAN, ["traefik", "mosquitto", "postgres"], "development", [])
    assert sorted(out) == ["mosquitto", "postgres", "traefik-web"]
    assert out["postgres"]["address"] == "127.0.0.1" and out["postgres"]["target"] == 5432


def test_extra_publishes_named_internal_port_in_production():
    out = f.published_ports(PORT_MAP, PLAN, ["postgres", "grafana"], "production", ["postgres"])
    assert sorted(out) == ["postgres"]


def test_bad_port_is_an_error_naming_the_entry():
    with pytest.raises(AnsibleFilterError, match="taylordash_port_plan.traefik-web"):
        f.published_ports(PORT_MAP, {"traefik-web": "eighty"}, ["traefik"], "production", [])


def test_env_secret_specs_user_values_win_and_extras_join():
    out = f.env_secret_specs(["A", "B"], {"B": "given", "EXTRA": "x", "A": ""}, 40)
    assert out == {"A": {"value": None, "length": 40}, "B": {"value": "given", "length": 40},
                   "EXTRA": {"value": "x", "length": 40}}


def test_config_fingerprints_change_only_for_the_reader():
    configs = [{"service": "prometheus"}, {"service": "prometheus"}, {"service": "alertmanager"}]
    before = f.config_fingerprints(configs, ["a", "b", "c"], {"mosquitto": "sum1"})
    after = f.config_fingerprints(configs, ["a", "b", "c2"], {"mosquitto": "sum1"})
    assert before["prometheus"] == after["prometheus"]
    assert before["alertmanager"] != after["alertmanager"]
    assert before["mosquitto"] == after["mosquitto"]
    assert f.config_fingerprints(configs, ["a", "b", "c"], {"mosquitto": "sum2"})["mosquitto"] != before["mosquitto"]


def test_config_fingerprints_length_mismatch():
    with pytest.raises(AnsibleFilterError):
        f.config_fingerprints([{"service": "x"}], [], {})


def test_compose_unhealthy():
    lines = [json.dumps({"Service": "postgres", "State": "running", "Health": "healthy"}),
             json.dumps({"Service": "traefik", "State": "running", "Health": ""}),
             json.dumps({"Service": "mosquitto", "State": "running", "Health": "unhealthy"}),
             json.dumps({"Service": "alertmanager", "State": "restarting", "Health": ""}),
             json.dumps({"Service": "alertmanager", "State": "exited", "Health": ""}),
             "WARN[0000] some warning"]
    assert f.compose_unhealthy(lines) == ["mosquitto", "alertmanager"]


@pytest.mark.parametrize("hostvars, found", [
    # Role defaults are not in hostvars: the play's deploy directory stands in for hosts that set none.
    ({"core": {"_infrastructure_disk": {"paths": {"/opt/taylordash/.env": {}}}}, "app1": {}}, ["core"]),
    ({"core": {"_infrastructure_disk": {"paths": {"/opt/taylordash": {}}}}}, []),
    # A host with a deploy directory of its own is read there (a trailing / or not).
    ({"core": {"taylordash_deploy_dir": "/srv/td/", "_infrastructure_disk": {"paths": {"/srv/td/.env": {}}}},
      "app1": {"taylordash_deploy_dir": "/srv/td", "_infrastructure_disk": {"paths": {"/opt/taylordash/.env": {}}}}},
     ["core"]),
    # A host whose read was skipped (check mode on a first run, or not reached) holds nothing known.
    ({"core": {"_infrastructure_disk": {"skipped": True}}}, []),
])
def test_hosts_with_env_finds_the_hosts_that_hold_secrets(hostvars, found):
    assert f.hosts_with_env(list(hostvars), hostvars, "/opt/taylordash") == found
