"""TaylorDash reference API: projects stored in PostgreSQL, announced over MQTT.

Production: uvicorn app.main:app --host 0.0.0.0 --port 8000 --workers N
Development: uvicorn app.main:app --reload --port 3000
"""

import hmac
import logging
import socket
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import insert, select, text

from . import metrics, mqtt
from .config import Settings
from .db import make_engine, projects

log = logging.getLogger("taylordash.api")
# The container's host name (its short ID under Docker).
INSTANCE = socket.gethostname()


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None


class Project(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime


def create_app(settings=None):
    """Build the app; settings default to the environment, read when the app starts."""

    @asynccontextmanager
    async def lifespan(app):
        config = settings or Settings.from_env()
        app.state.settings = config
        app.state.broker = mqtt.parse_url(config.mqtt_url)
        app.state.engine = make_engine(config.database_url)
        metrics_server = metrics.start_server(config.metrics_port)
        try:
            yield
        finally:
            metrics.stop_server(metrics_server)
            app.state.engine.dispose()

    app = FastAPI(title="TaylorDash API", lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)
    app.add_middleware(metrics.MetricsMiddleware)

    @app.middleware("http")
    async def version_header(request: Request, call_next):
        """Every answer names the version and the instance (container) that gave it: a rolling upgrade's
        load test sees both versions, or both containers of one version, answer."""
        response = await call_next(request)
        response.headers["X-App-Version"] = request.app.state.settings.app_version
        response.headers["X-App-Instance"] = INSTANCE
        return response

    @app.get("/api/health")
    def health(request: Request):
        state = request.app.state
        checks = {"database": "ok", "mqtt": "ok"}
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure is the health answer, not a crash
            checks["database"] = _error_text(exc)
        try:
            mqtt.check(state.broker)
        except Exception as exc:
            checks["mqtt"] = _error_text(exc)
        healthy = all(value == "ok" for value in checks.values())
        body = {"status": "ok" if healthy else "error", "version": state.settings.app_version,
                "checks": checks}
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.get("/api/projects", response_model=list[Project])
    def list_projects(request: Request):
        with request.app.state.engine.connect() as conn:
            rows = conn.execute(select(projects).order_by(projects.c.id)).mappings().all()
        return [Project(**row) for row in rows]

    @app.post("/api/projects", status_code=201, response_model=Project,
              dependencies=[Depends(require_api_key)])
    def create_project(payload: ProjectIn, request: Request):
        state = request.app.state
        with state.engine.begin() as conn:
            row = conn.execute(
                insert(projects)
                .values(name=payload.name, description=payload.description or "")
                .returning(*projects.c)
            ).mappings().one()
        project = Project(**row)
        topic = "%s/projects/created" % state.settings.mqtt_topic_prefix
        try:
            mqtt.publish(state.broker, topic, project.model_dump_json())
        except Exception as exc:
            log.error("project %s stored but not published to %s: %s", project.id, topic, exc)
            return JSONResponse(status_code=502, content={
                "detail": "project stored but the event was not published: %s" % _error_text(exc),
                "project": project.model_dump(mode="json"),
            })
        return project

    return app


def require_api_key(request: Request, x_api_key: str | None = Header(default=None)):
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="missing or wrong X-API-Key header")


def _error_text(exc):
    """One line that says what failed: the driver's own message rather than SQLAlchemy's wrapper."""
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip().splitlines()
    return "%s: %s" % (type(original).__name__, message[0] if message else "")


app = create_app()
