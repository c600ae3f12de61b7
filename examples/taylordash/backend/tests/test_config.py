"""Configuration parsing: no engine needed."""

import pytest

from app.config import ConfigError, Settings
from app.db import sqlalchemy_url
from app.mqtt import Broker, parse_url


def test_database_url_uses_psycopg3_driver():
    url = sqlalchemy_url("postgresql://user:p%40ss@db:5432/taylordash")
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user", "p@ss", "db", 5432, "taylordash")
    assert sqlalchemy_url("postgres://u:p@h/d").drivername == "postgresql+psycopg"
    with pytest.raises(ValueError):
        sqlalchemy_url("mysql://u:p@h/d")


def test_mqtt_url():
    assert parse_url("mqtt://dash:s%2Fecret@broker:1884") == Broker("broker", 1884, "dash", "s/ecret")
    assert parse_url("mqtt://broker") == Broker("broker", 1883)
    assert parse_url("mqtts://u:p@broker").port == 8883
    with pytest.raises(ValueError):
        parse_url("http://broker:1883")


def test_settings_defaults_and_required():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@h/d", "MQTT_URL": "mqtt://h"})
    assert (settings.mqtt_topic_prefix, settings.metrics_port, settings.app_version, settings.api_key) == (
        "taylordash", 9100, "dev", None)
    assert Settings.from_env({"DATABASE_URL": "x", "MQTT_URL": "y", "METRICS_PORT": "0"}).metrics_port == 0
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"MQTT_URL": "mqtt://h"})


def test_mqtts_verifies_the_broker_against_mqtt_ca_file(monkeypatch, tmp_path):
    """mqtts:// hands MQTT_CA_FILE to paho as the only trusted CA (a deployment's internal CA; the multi-host
    e2e test shows a broker of another CA refused); unset, paho uses the system's CAs."""
    import ssl

    import paho.mqtt.client as paho

    from app import mqtt

    seen = {}
    monkeypatch.setattr(paho.Client, "tls_set", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr(paho.Client, "connect", lambda self, *a, **kw: (_ for _ in ()).throw(OSError("no broker")))
    monkeypatch.setenv("MQTT_CA_FILE", str(tmp_path / "ca.crt"))
    try:
        with mqtt.connected(parse_url("mqtts://u:p@broker"), timeout=0.1):
            pass
    except (mqtt.MqttError, OSError, ssl.SSLError):
        pass
    assert seen == {"ca_certs": str(tmp_path / "ca.crt")}
    monkeypatch.delenv("MQTT_CA_FILE")
    seen.clear()
    try:
        with mqtt.connected(parse_url("mqtts://u:p@broker"), timeout=0.1):
            pass
    except (mqtt.MqttError, OSError, ssl.SSLError):
        pass
    assert seen == {"ca_certs": None}
