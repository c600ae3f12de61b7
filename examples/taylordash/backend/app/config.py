"""Settings, read from environment variables only."""

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    mqtt_url: str
    mqtt_topic_prefix: str = "taylordash"
    metrics_port: int = 9100
    app_version: str = "dev"
    api_key: str | None = None

    @classmethod
    def from_env(cls, environ=None):
        env = os.environ if environ is None else environ
        missing = [name for name in ("DATABASE_URL", "MQTT_URL") if not env.get(name)]
        if missing:
            raise ConfigError("missing environment variable(s): " + ", ".join(missing))
        try:
            metrics_port = int(env.get("METRICS_PORT", "9100") or 0)
        except ValueError:
            raise ConfigError("METRICS_PORT must be an integer, got %r" % env["METRICS_PORT"]) from None
        return cls(
            database_url=env["DATABASE_URL"],
            mqtt_url=env["MQTT_URL"],
            mqtt_topic_prefix=env.get("MQTT_TOPIC_PREFIX") or "taylordash",
            metrics_port=metrics_port,
            app_version=env.get("APP_VERSION") or "dev",
            api_key=env.get("API_KEY") or None,
        )
