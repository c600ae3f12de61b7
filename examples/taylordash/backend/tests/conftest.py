"""Fixtures: a real PostgreSQL and a real Mosquitto in throwaway containers, and real uvicorn servers.

The containers are started from local images (nothing is pulled), are named apptest-pg-<hex> and
apptest-mqtt-<hex>, publish only on 127.0.0.1 with ports Docker picks, and are removed at the end
of the session. Without docker or the images the engine tests are skipped, unless
TAYLORDASH_REQUIRE_ENGINE=1, when they fail instead.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from app import mqtt

BACKEND = Path(__file__).resolve().parents[1]
PG_IMAGE = os.environ.get("TAYLORDASH_TEST_PG_IMAGE", "taylordash/postgres:17")
MQTT_IMAGE = os.environ.get("TAYLORDASH_TEST_MQTT_IMAGE", "taylordash/mosquitto:2.0")
SUFFIX = secrets.token_hex(4)
MQTT_USER = "apptest"
MQTT_PASSWORD = secrets.token_hex(12)
TOPIC_PREFIX = "apptest-" + SUFFIX
MOSQUITTO_CONF = """\
listener 1883
allow_anonymous false
password_file /mosquitto/config/passwd
persistence false
log_dest stdout
"""


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def engine_problem():
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=30)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 30 s"
    if info.returncode != 0:
        return "the Docker engine is not reachable: " + (info.stderr.strip() or info.stdout.strip())
    for image in (PG_IMAGE, MQTT_IMAGE):
        if docker("image", "inspect", image, check=False).returncode != 0:
            return "image %s is not present locally (the tests never pull)" % image
    return None


def wait_for(probe, what, timeout=90.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError("%s not ready after %ss: %s" % (what, timeout, exc)) from exc
            time.sleep(interval)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def container(name, *run_args):
    """Run a detached container and remove it (with its anonymous volumes) afterwards."""
    try:
        docker("run", "-d", "--name", name, *run_args)
        yield name
    except subprocess.CalledProcessError as exc:
        pytest.fail("docker run %s failed: %s" % (name, exc.stderr.strip()))
    finally:
        docker("rm", "-f", "-v", name, check=False)


def published_port(name, port):
    out = docker("port", name, "%d/tcp" % port).stdout.split()
    return int(out[0].rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def docker_engine():
    problem = engine_problem()
    if problem:
        if os.environ.get("TAYLORDASH_REQUIRE_ENGINE") == "1":
            pytest.fail(problem + " (TAYLORDASH_REQUIRE_ENGINE=1)", pytrace=False)
        pytest.skip(problem)


@pytest.fixture(scope="session")
def postgres(docker_engine):
    """URL (postgresql://...) of a fresh, empty PostgreSQL database."""
    password = secrets.token_hex(12)
    with container("apptest-pg-" + SUFFIX, "-e", "POSTGRES_USER=app", "-e", "POSTGRES_PASSWORD=" + password,
                   "-e", "POSTGRES_DB=app", "-p", "127.0.0.1::5432", PG_IMAGE) as name:
        url = "postgresql://app:%s@127.0.0.1:%d/app" % (password, published_port(name, 5432))

        def probe():
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")

        wait_for(probe, "PostgreSQL in " + name)
        yield url


@dataclass(frozen=True)
class BrokerInfo:
    broker: mqtt.Broker

    def url(self, password=None):
        return "mqtt://%s:%s@%s:%d" % (self.broker.username, password or self.broker.password,
                                        self.broker.host, self.broker.port)


@pytest.fixture(scope="session")
def mosquitto(docker_engine, tmp_path_factory):
    """A password-protected Mosquitto; anonymous clients are refused."""
    confdir = tmp_path_factory.mktemp("mosquitto-config")
    confdir.chmod(0o777)  # the image runs as the mosquitto user, which writes the passwd file
    (confdir / "mosquitto.conf").write_text(MOSQUITTO_CONF)
    mount = "%s:/mosquitto/config" % confdir
    docker("run", "--rm", "--entrypoint", "mosquitto_passwd", "-v", mount, MQTT_IMAGE,
           "-c", "-b", "/mosquitto/config/passwd", MQTT_USER, MQTT_PASSWORD)
    with container("apptest-mqtt-" + SUFFIX, "-v", mount + ":ro", "-p", "127.0.0.1::1883", MQTT_IMAGE) as name:
        broker = mqtt.Broker("127.0.0.1", published_port(name, 1883), MQTT_USER, MQTT_PASSWORD)
        wait_for(lambda: mqtt.check(broker), "Mosquitto in " + name, timeout=30)
        yield BrokerInfo(broker)


def alembic(database_url, *args):
    env = dict(os.environ, DATABASE_URL=database_url)
    result = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=BACKEND, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, "alembic %s failed:\n%s%s" % (" ".join(args), result.stdout, result.stderr)
    return result


@pytest.fixture(scope="session")
def database(postgres):
    """The test database with the schema migrated to head, as a deploy would do it."""
    alembic(postgres, "upgrade", "head")
    return postgres


@dataclass
class Server:
    url: str
    metrics_url: str | None
    version: str


@contextmanager
def uvicorn_server(log_dir, database_url, mqtt_url, **env_overrides):
    """Run `uvicorn app.main:app` for real on a free port, configured only by environment variables."""
    port = free_port()
    metrics_port = env_overrides.pop("METRICS_PORT", "0")
    version = "apptest-" + secrets.token_hex(3)
    env = {key: value for key, value in os.environ.items() if key != "API_KEY"}
    env.update(DATABASE_URL=database_url, MQTT_URL=mqtt_url, MQTT_TOPIC_PREFIX=TOPIC_PREFIX,
               METRICS_PORT=str(metrics_port), APP_VERSION=version)
    env.update(env_overrides)
    log_path = Path(log_dir) / ("uvicorn-%d.log" % port)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                                 "--port", str(port)], cwd=BACKEND, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port

    def probe():
        if proc.poll() is not None:
            pytest.fail("uvicorn exited with %s:\n%s" % (proc.returncode, log_path.read_text()))
        httpx.get(base + "/api/openapi.json", timeout=2).raise_for_status()

    try:
        wait_for(probe, "uvicorn on port %d" % port, timeout=30, interval=0.2)
        metrics_url = "http://127.0.0.1:%s/metrics" % metrics_port if int(metrics_port) else None
        yield Server(base, metrics_url, version)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(database, mosquitto, tmp_path_factory):
    """The app as production runs it, with metrics on their own port."""
    with uvicorn_server(tmp_path_factory.mktemp("logs"), database, mosquitto.url(),
                        METRICS_PORT=free_port()) as srv:
        yield srv


@pytest.fixture
def start_server(database, mosquitto, tmp_path):
    """Start another app server with some environment changed: start_server(MQTT_URL=..., API_KEY=...)."""
    with ExitStack() as stack:
        def start(**overrides):
            mqtt_url = overrides.pop("MQTT_URL", mosquitto.url())
            return stack.enter_context(uvicorn_server(tmp_path, database, mqtt_url, **overrides))
        yield start
