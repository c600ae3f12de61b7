"""The plan audit.yml compares a host with, derived from the catalogue and the port plan. Pure."""

from ansible_collections.taylordash.ops.plugins.module_utils import _audit_plan as p

SERVICES = {
    "traefik": {"group": "proxy", "ports": {
        "traefik-web": {"container": 80, "port": {"port": 80}, "public": True},
        "traefik-websecure": {"container": 443, "port": 443, "public": "true"},
        "traefik-metrics": {"container": 8082, "port": 8082}}},
    "postgres": {"group": "data", "ports": {"postgres": {"container": 5432, "port": 5432}}},
    "mosquitto": {"group": "data", "ports": {"mosquitto": {"container": 1883, "port": "1883", "public": True}}},
    "victoriametrics": {"group": "data", "ports": {"victoriametrics": {"container": 8428, "port": 8428}}},
    "node-exporter": {"group": "monitoring", "ports": {"node-exporter": {"container": 9100, "port": 9100}}},
    "backend": {"group": "app", "ports": {"backend": {"container": 8000, "port": 8000}}},
}
PORT_PLAN = {"traefik-web": 80, "traefik-websecure": 443, "mosquitto": 1883,
             "postgres": {"port": 5432, "address": "127.0.0.1"}, "backend": 3000, "frontend": 5173, "gone": None}


def test_the_plan_of_a_host():
    plan = p.audit_plan(SERVICES, PORT_PLAN, {"backend": {}, "frontend": {}, "unplanned": {}}, "taylordash",
                        ["taylordashv1", ""], [{"name": "postgres", "port": "5432", "address": "10.0.0.5"}])
    assert plan["project"] == "taylordash" and plan["old_projects"] == ["taylordashv1"]
    assert plan["port_plan"]["postgres"] == {"port": 5432, "address": "127.0.0.1", "public": False}
    assert plan["port_plan"]["mosquitto"] == {"port": 1883, "address": "", "public": True}
    assert plan["port_plan"]["traefik-websecure"]["public"] and not plan["port_plan"]["backend"]["public"]
    assert "gone" not in plan["port_plan"]
    assert plan["dev_apps"] == {"backend": {"port": 3000}, "frontend": {"port": 5173}}
    assert set(plan["docker_services"]) == {"traefik", "postgres", "mosquitto", "victoriametrics", "node-exporter"}
    assert plan["docker_services"]["postgres"] == {"ports": [5432], "data": True, "processes": ["postgres"]}
    assert plan["docker_services"]["traefik"]["ports"] == [80, 443, 8082]
    assert not plan["docker_services"]["node-exporter"]["data"]
    assert plan["published"] == [{"name": "postgres", "port": 5432, "address": "10.0.0.5"}]


def test_process_names_drop_separators():
    assert p.process_names("victoriametrics") == ["victoriametrics"]
    assert p.process_names("node-exporter") == ["nodeexporter"]
