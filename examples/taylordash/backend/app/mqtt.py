"""Short-lived MQTT connections: one per health check or published event.

Connect, do one thing, disconnect: no long-lived client to reconnect or to share between
uvicorn workers, and a broken broker shows up as an error on the request that needed it.
"""

import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho

TIMEOUT = 3.0


class MqttError(RuntimeError):
    pass


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_url(mqtt_url):
    """mqtt://user:pass@host:1883 (or mqtts://, default ports 1883/8883) -> Broker."""
    parts = urlsplit(mqtt_url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("MQTT_URL must look like mqtt://user:pass@host:1883")
    tls = parts.scheme == "mqtts"
    return Broker(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


@contextmanager
def connected(broker, timeout=TIMEOUT, client_prefix="taylordash-api"):
    """Yield a client whose CONNECT the broker has accepted; raise MqttError otherwise."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                         client_id="%s-%s" % (client_prefix, uuid.uuid4().hex[:12]),
                         protocol=paho.MQTTv311)
    client.connect_timeout = timeout
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        # MQTT_CA_FILE: the CA that signed the broker's certificate (the deployment's internal CA); unset, the
        # system's CAs.
        client.tls_set(ca_certs=os.environ.get("MQTT_CA_FILE") or None)
    answered = threading.Event()
    result = {}

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        result["reason"] = reason_code
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except (OSError, ValueError) as exc:
        raise MqttError("cannot connect to %s:%s: %s" % (broker.host, broker.port, exc)) from exc
    client.loop_start()
    try:
        if not answered.wait(timeout):
            raise MqttError("no CONNACK from %s:%s within %ss" % (broker.host, broker.port, timeout))
        if result["reason"].is_failure:
            raise MqttError("broker refused the connection: %s" % result["reason"])
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def check(broker, timeout=TIMEOUT):
    """Raise MqttError unless the broker accepts a connection with our credentials."""
    with connected(broker, timeout):
        pass


def publish(broker, topic, payload, timeout=TIMEOUT):
    """Publish one message with QoS 1 and wait for the broker's PUBACK."""
    with connected(broker, timeout) as client:
        info = client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise MqttError("publish to %s failed: %s" % (topic, paho.error_string(info.rc)))
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise MqttError("no PUBACK for %s within %ss" % (topic, timeout))
