"""The API served by a real uvicorn, against the real PostgreSQL and Mosquitto from conftest."""

import json
import queue
import socket
import threading
import uuid

import httpx
import paho.mqtt.client as paho
import pytest

from conftest import TOPIC_PREFIX, free_port


def create(server, name, description=None, headers=None):
    body = {"name": name} if description is None else {"name": name, "description": description}
    return httpx.post(server.url + "/api/projects", json=body, headers=headers, timeout=15)


def listed(server, headers=None):
    response = httpx.get(server.url + "/api/projects", headers=headers, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def test_health_ok(server):
    response = httpx.get(server.url + "/api/health", timeout=15)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "version": server.version,
                               "checks": {"database": "ok", "mqtt": "ok"}}
    assert response.headers["x-app-version"] == server.version
    assert response.headers["x-app-instance"] == socket.gethostname()


def test_health_503_when_broker_refuses_credentials(start_server, mosquitto):
    srv = start_server(MQTT_URL=mosquitto.url(password="wrong-password"))
    response = httpx.get(srv.url + "/api/health", timeout=15)
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "error" and body["version"] == srv.version
    assert body["checks"]["database"] == "ok"
    assert "refused" in body["checks"]["mqtt"] and "authori" in body["checks"]["mqtt"].lower()


def test_health_503_when_database_is_wrong(start_server, database):
    srv = start_server(DATABASE_URL=database.rsplit("/", 1)[0] + "/no_such_database")
    response = httpx.get(srv.url + "/api/health", timeout=15)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["mqtt"] == "ok"
    assert "no_such_database" in checks["database"]


def test_create_and_list(server):
    name = "project-" + uuid.uuid4().hex[:8]
    first = create(server, name, "the first one")
    assert first.status_code == 201, first.text
    row = first.json()
    assert set(row) == {"id", "name", "description", "created_at"}
    assert (row["name"], row["description"]) == (name, "the first one")

    second = create(server, name)  # duplicate names are allowed; description defaults to ""
    assert second.status_code == 201, second.text
    assert second.json()["description"] == ""
    assert second.json()["id"] > row["id"]

    projects = listed(server)
    assert [p["id"] for p in projects] == sorted(p["id"] for p in projects)
    assert row in projects and second.json() in projects


@pytest.fixture
def subscriber(mosquitto):
    """A paho client subscribed (QoS 1) to the created-event topic; yields the queue of messages."""
    broker = mosquitto.broker
    messages = queue.Queue()
    subscribed = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="apptest-sub-" + uuid.uuid4().hex[:8])
    client.username_pw_set(broker.username, broker.password)
    client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(TOPIC_PREFIX + "/projects/created", qos=1)
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_message = lambda _c, _u, message: messages.put(message)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK from the broker"
        yield messages
    finally:
        client.disconnect()
        client.loop_stop()


def test_created_event_is_published(server, subscriber):
    response = create(server, "announced-" + uuid.uuid4().hex[:8], "watch the broker")
    assert response.status_code == 201, response.text
    message = subscriber.get(timeout=10)
    assert message.topic == TOPIC_PREFIX + "/projects/created"
    assert message.qos == 1
    assert json.loads(message.payload) == response.json()


def test_publish_failure_is_502_and_the_row_stays(start_server):
    srv = start_server(MQTT_URL="mqtt://nobody:nothing@127.0.0.1:%d" % free_port())
    name = "unannounced-" + uuid.uuid4().hex[:8]
    response = create(srv, name)
    assert response.status_code == 502, response.text
    body = response.json()
    assert "not published" in body["detail"]
    assert body["project"]["name"] == name
    assert body["project"] in listed(srv)


@pytest.mark.parametrize("body", [{"name": ""}, {}, {"name": "x" * 201}, {"name": "ok", "description": 5}])
def test_validation_422(server, body):
    before = len(listed(server))
    response = httpx.post(server.url + "/api/projects", json=body, timeout=15)
    assert response.status_code == 422, response.text
    assert len(listed(server)) == before


def test_api_key_required_for_post_only(start_server):
    srv = start_server(API_KEY="s3cret-key")
    assert create(srv, "no-key").status_code == 401
    assert create(srv, "bad-key", headers={"X-API-Key": "nope"}).status_code == 401
    ok = create(srv, "good-key", headers={"X-API-Key": "s3cret-key"})
    assert ok.status_code == 201, ok.text
    names = [p["name"] for p in listed(srv)]
    assert "good-key" in names and "no-key" not in names and "bad-key" not in names


def test_no_api_key_configured_accepts_any_post(server):
    assert create(server, "keyless", headers={"X-API-Key": "whatever"}).status_code == 201


def test_metrics_on_their_own_port(server):
    listed(server)
    text = httpx.get(server.metrics_url, timeout=15).text
    assert 'taylordash_http_requests_total{method="GET",route="/api/projects",status="200"}' in text
    assert 'taylordash_http_request_duration_seconds_bucket{' in text
    assert httpx.get(server.url + "/metrics", timeout=15).status_code == 404
