"""The service catalogue (taylordash_services in roles/taylordash/defaults/main.yml) is the only
place a catalogued service's ports, image references and healthchecks are written: none of them
stands anywhere else in roles/ or templates/, but for the few places listed in ALLOWED, each with
the reason it may."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_FILE = ROOT / "roles" / "taylordash" / "defaults" / "main.yml"
DEFAULTS = yaml.safe_load(CATALOGUE_FILE.read_text())
SERVICES = DEFAULTS["taylordash_services"]

# (path glob, port or None for any, why it may be written there)
ALLOWED = [
    ("roles/images/templates/nginx/Dockerfile.j2", 80,
     "nginx's own default port in the base nginx image; the frontend's catalogued port is set by its own "
     "nginx.conf (the number is Traefik's web port by coincidence)"),
    ("roles/infrastructure/templates/prometheus/rules/taylordash.rules.test.yml.j2", None,
     "promtool test data: instance labels of made-up series, not addresses anything connects to"),
    ("roles/proxy/templates/traefik.yml.j2", 8080,
     "Traefik's own ping entrypoint inside its container (its healthcheck), no service's endpoint; the "
     "number is the frontend's container port by coincidence"),
]


def catalogued_ports():
    ports = set()
    for entry in SERVICES.values():
        for spec in (entry.get("ports") or {}).values():
            for key in ("container", "port"):
                if isinstance(spec.get(key), int):
                    ports.add(spec[key])
    return sorted(ports)


def _flat(text):
    """Text without quotes, brackets and white space: a healthcheck written as a YAML flow list, a Jinja or
    JSON list or a shell string reads the same."""
    return re.sub(r"[\s'\"\[\]]", "", text)


def catalogued_strings():
    """Image references of taylordash_images and the healthcheck commands of the catalogue (flattened)."""
    refs = {ref for image in DEFAULTS["taylordash_images"].values() for ref in image.values() if ref}
    tests = {_flat(",".join(entry["healthcheck"]["test"])) for entry in SERVICES.values()
             if "test" in (entry.get("healthcheck") or {})}
    return sorted(refs | tests)


@pytest.mark.parametrize("written", [
    """healthcheck(['CMD-SHELL', 'pg_isready -h 127.0.0.1 -p 5432 -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"'])""",
    "{{ healthcheck(['CMD', 'traefik', 'healthcheck', '--configFile=/etc/traefik/traefik.yml']) }}",
    "      test: [CMD, mc, ready, local]",
], ids=["shell", "list", "yaml-flow"])
def test_a_healthcheck_written_as_before_is_found(written):
    assert any(value in _flat(written) for value in catalogued_strings())


def files():
    for top in ("roles", "templates"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path != CATALOGUE_FILE and "__pycache__" not in path.parts:
                yield path


def allowed(path, port):
    relative = path.relative_to(ROOT)
    return any(relative.match(pattern) and (allowed_port is None or allowed_port == port)
               for pattern, allowed_port, _ in ALLOWED)


# A port used as an address: after ':' (host:port, ":port", URLs), or after `listener`, `-p` or `--port`.
def port_pattern(port):
    return re.compile(r"(:|\blistener\s+|-p\s+|--port[= ])%d(?![\w.])" % port)


def test_the_catalogue_holds_ports_and_healthchecks():
    assert len(catalogued_ports()) > 10 and any("pg_isready" in text for text in catalogued_strings())


@pytest.mark.parametrize("port", catalogued_ports())
def test_a_catalogued_port_is_written_nowhere_else(port):
    found = []
    pattern = port_pattern(port)
    for path in files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if pattern.search(line) and not allowed(path, port):
                found.append("%s:%d: %s" % (path.relative_to(ROOT), number, line.strip()))
    assert found == [], "port %d is the catalogue's; read it from taylordash_catalogue:\n%s" % (port, "\n".join(found))


def test_image_references_and_healthchecks_are_written_nowhere_else():
    found = []
    for path in files():
        text = path.read_text(errors="replace")
        flat = _flat(text)
        for value in catalogued_strings():
            if len(value) > 8 and (value in text or value in flat):
                found.append("%s: %s" % (path.relative_to(ROOT), value))
    assert found == []


def test_the_check_finds_a_port_written_elsewhere():
    """The checks are not vacuous: the old templates' literals are caught."""
    assert port_pattern(8428).search("      - -httpListenAddr=:8428")
    assert port_pattern(1883).search("listener 1883")
    assert port_pattern(5432).search("regex_replace('@postgres:5432/', '@127.0.0.1:')")
    assert not port_pattern(80).search("infrastructure_alert_disk_percent: 80")
    assert not allowed(ROOT / "roles/infrastructure/templates/docker-compose.yml.j2", 8428)
