"""The service's HTTP API (FastAPI): Jira webhooks in, jobs out, health and metrics.

    POST /webhooks/jira   a Jira webhook delivery -> 202 with the job id (or 200 duplicate/ignored)
    POST /jobs            queue a job for an epic (API key)
    GET  /jobs/{job_id}   state, progress and result of a job (API key)
    GET  /healthz         Redis and the knowledge store reachable? 503 with details when not
    GET  /metrics         Prometheus text format
    /ui/                  the review pages (workers/ui/app.py)

A delivery is checked and filtered by workers/triggers.py (signature, shape, filters, the epic
of the issue), de-duplicated by its delivery id (workers/dedupe.py) and queued with
`workers.jobs.enqueue_generate` (one job per epic, see workers/locks.py). The answer comes as
soon as the job is queued; the work happens on the Celery workers (workers/tasks.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time

import httpx
import redis
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from connectors.errors import CasewrightError
from connectors.settings import Settings, get_settings
from workers.api_models import (
    JIRA_WEBHOOK_OPENAPI,
    MAX_BODY_BYTES,
    Check,
    DeliveryResult,
    Health,
    JobQueued,
    JobRequest,
    JobState,
    Problem,
    request_problem,
)
from workers.celery_wire import queue_key
from workers.dedupe import IGNORED, DeliveryDedupe, delivery_id_for
from workers.jobs import DURATION_BUCKETS, JobMetrics, enqueue_generate, enqueue_generate_async, job_status
from workers.triggers import decide, signature_ok, signature_well_formed, validate_payload
from workers.ui.app import create_ui

log = logging.getLogger(__name__)


# -- metrics ---------------------------------------------------------------------------------------
class _RedisJobCollector:
    """Job counts by state and job durations, as recorded by the workers in Redis."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        up = GaugeMetricFamily("casewright_redis_up", "1 when Redis answered this scrape")
        try:
            snap = JobMetrics(self.client, self.settings.redis_prefix).snapshot()
            depth = self.client.llen(queue_key(self.settings))
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = CounterMetricFamily("casewright_jobs", "Job state transitions recorded by the workers",
                                   labels=["state"])
        for state in ("queued", "started", "succeeded", "failed", "retried"):
            jobs.add_metric([state], snap.get(f"state:{state}", 0.0))
        yield jobs
        queue = GaugeMetricFamily("casewright_queue_length", "Jobs waiting in the broker queue")
        queue.add_metric([], depth)
        yield queue
        hist = HistogramMetricFamily("casewright_job_duration_seconds", "Run time of finished jobs")
        buckets = [(str(float(b)), snap.get(f"duration:le:{b}", 0.0)) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", snap.get("duration:count", 0.0)))
        hist.add_metric([], buckets, snap.get("duration:sum", 0.0))
        yield hist


class _LoopRedis:
    """The webhook's asyncio Redis client and de-duplication, made for the event loop that serves
    the request (an asyncio client belongs to one loop: uvicorn runs one per process, a test
    client its own). A blocking pool of 64 connections: a burst waits for one, never fails."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._made: tuple[aioredis.Redis, DeliveryDedupe] | None = None

    def get(self) -> tuple[aioredis.Redis, DeliveryDedupe]:
        loop = asyncio.get_running_loop()
        if self._made is None or self._loop is not loop:
            s = self.settings
            pool = aioredis.BlockingConnectionPool.from_url(s.redis_url, max_connections=64, timeout=3,
                                                            socket_connect_timeout=1.5, socket_timeout=3)
            client = aioredis.Redis(connection_pool=pool)
            self._loop, self._made = loop, (client, DeliveryDedupe(client, s.redis_prefix, ttl_s=s.webhook_dedupe_ttl_s))
        return self._made


# -- the app -----------------------------------------------------------------------------------------
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="CASEWRIGHT_API_KEY")
_bearer = HTTPBearer(auto_error=False, description="CASEWRIGHT_API_KEY as a bearer token")

DESCRIPTION = """Receives Jira webhooks and runs casewright's generation jobs on Celery workers.

* Register `POST /webhooks/jira` in Jira (System > WebHooks, or a project automation rule) for
  *Issue created* and *Issue updated*, with a secret: deliveries must carry
  `X-Hub-Signature: sha256=<HMAC-SHA256 of the body>` when `CASEWRIGHT_WEBHOOK_SECRET` is set.
* Job endpoints need `X-API-Key: <CASEWRIGHT_API_KEY>` or `Authorization: Bearer <key>`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    s = settings or get_settings()
    client = redis.Redis.from_url(s.redis_url, socket_connect_timeout=1.5, socket_timeout=3,
                                  health_check_interval=30, max_connections=64)
    registry = CollectorRegistry()
    deliveries = Counter("casewright_webhook_deliveries", "Webhook deliveries by outcome",
                         ["outcome"], registry=registry)
    for outcome in ("enqueued", "coalesced", "duplicate", "ignored", "unauthorized", "invalid", "error"):
        deliveries.labels(outcome)
    latency = Histogram("casewright_webhook_seconds", "Time to answer a webhook delivery",
                        registry=registry,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
    registry.register(_RedisJobCollector(client, s))
    secret = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    if not secret:
        log.warning("CASEWRIGHT_WEBHOOK_SECRET is not set: webhook deliveries are accepted unsigned")

    app = FastAPI(title="casewright service", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=[{"name": "webhooks", "description": "Deliveries from Jira"},
                                {"name": "jobs", "description": "Generation jobs (API key)"},
                                {"name": "operations", "description": "Health and metrics"}])
    app.state.settings = s

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": request_problem(exc.errors())}, status_code=400)

    app.state.redis = client

    def require_api_key(key: str | None = Depends(_api_key_header),
                        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
        if s.api_key is None or not s.api_key.get_secret_value():
            raise HTTPException(503, "job endpoints are disabled: set CASEWRIGHT_API_KEY on the service")
        given = key or (bearer.credentials if bearer else None)
        if not given or not hmac.compare_digest(given.encode(), s.api_key.get_secret_value().encode()):
            raise HTTPException(401, "missing or wrong API key: send X-API-Key or Authorization: Bearer",
                                headers={"WWW-Authenticate": "Bearer"})

    loop_redis = _LoopRedis(s)

    async def handle_delivery(body: bytes, delivery_header: str | None) -> tuple[int, DeliveryResult]:
        """Parse, check and filter (CPU only, microseconds), then one Redis round trip on the event
        loop's own asyncio client: no thread per delivery."""
        try:
            payload = validate_payload(json.loads(body))
        except RecursionError:
            raise HTTPException(400, "not a Jira webhook: the JSON body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as err:
            msg = str(err) if isinstance(err, CasewrightError) else "not a Jira webhook: the body is not JSON"
            raise HTTPException(400, msg) from None
        delivery_id = delivery_id_for(delivery_header, body)  # CasewrightError (400) for an absurd id
        # one Redis round trip per delivery: the outcome and its de-duplication key are written
        # together (workers/dedupe.py), so a failure leaves nothing behind for Jira's retry to trip on
        decision = decide(payload, s)
        aclient, adedupe = loop_redis.get()
        if not decision.accept:
            earlier = await adedupe.claim_ignored_async(delivery_id)
            if earlier is None:
                return 200, DeliveryResult(outcome="ignored", delivery_id=delivery_id,
                                           issue_key=decision.issue_key, reason=decision.reason)
            queued = None
        else:
            queued = await enqueue_generate_async(
                decision.epic_key or "", settings=s, client=aclient, trigger="webhook",
                detail=f"{payload['webhookEvent']} {decision.issue_key} ({delivery_id})",
                delivery=adedupe, delivery_id=delivery_id)
            earlier = queued.job_id if queued.duplicate else None
        if queued is None or queued.duplicate:
            return 200, DeliveryResult(outcome="duplicate", job_id=None if earlier == IGNORED else earlier,
                                       delivery_id=delivery_id,
                                       issue_key=(payload.get("issue") or {}).get("key"),
                                       reason="this delivery was received before")
        return 202, DeliveryResult(outcome="coalesced" if queued.coalesced else "enqueued",
                                   job_id=queued.job_id, epic_key=queued.epic_key,
                                   issue_key=decision.issue_key, delivery_id=delivery_id)

    @app.post("/webhooks/jira", tags=["webhooks"], status_code=202, response_model=DeliveryResult,
              summary="Receive a Jira issue webhook", openapi_extra=JIRA_WEBHOOK_OPENAPI,
              responses={200: {"model": DeliveryResult, "description": "Duplicate or filtered out: nothing queued"},
                         202: {"model": DeliveryResult, "description": "Queued, or joined the epic's queued job"},
                         400: {"model": Problem, "description": "The body is not a Jira webhook"},
                         401: {"model": Problem, "description": "Missing or wrong X-Hub-Signature"},
                         413: {"model": Problem, "description": "The body is larger than 10 MiB"},
                         503: {"model": Problem, "description": "Redis or the broker is unreachable; Jira retries"}})
    async def jira_webhook(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        try:
            if len(body) > MAX_BODY_BYTES:
                deliveries.labels("invalid").inc()
                raise HTTPException(413, f"the delivery is larger than {MAX_BODY_BYTES // 2**20} MiB")
            signature = request.headers.get("x-hub-signature")
            if secret and not signature_ok(secret, body, signature):
                deliveries.labels("unauthorized").inc()
                raise HTTPException(401, "missing or wrong X-Hub-Signature (sha256=HMAC of the body "
                                         "with CASEWRIGHT_WEBHOOK_SECRET)")
            if not secret and signature is not None and not signature_well_formed(signature):
                deliveries.labels("invalid").inc()
                raise HTTPException(400, "X-Hub-Signature is not sha256=<64 hex digits>; fix the sender "
                                         "(this service has no CASEWRIGHT_WEBHOOK_SECRET and does not check it)")
            try:
                status, result = await handle_delivery(body, request.headers.get("x-atlassian-webhook-identifier"))
            except HTTPException:
                deliveries.labels("invalid").inc()
                raise
            except CasewrightError as err:
                deliveries.labels("invalid").inc()
                raise HTTPException(400, str(err)) from None
            except Exception as err:  # Redis or the broker is down: answer 503 so that Jira retries
                deliveries.labels("error").inc()
                log.error("webhook delivery failed: %s: %s", type(err).__name__, err)
                raise HTTPException(503, f"could not queue the job ({type(err).__name__}); "
                                         "check Redis, the delivery will be retried") from None
            deliveries.labels(result.outcome).inc()
            # the model is built by this code: serialise it as it stands (what response_model would
            # answer, without FastAPI validating it a second time)
            return Response(result.model_dump_json(), status_code=status, media_type="application/json")
        finally:
            latency.observe(time.perf_counter() - started)

    @app.post("/jobs", tags=["jobs"], status_code=202, response_model=JobQueued,
              dependencies=[Depends(require_api_key)], summary="Queue a generate job for an epic",
              responses={401: {"model": Problem}, 400: {"model": Problem}, 503: {"model": Problem}})
    def post_job(req: JobRequest) -> JobQueued:
        try:
            queued = enqueue_generate(req.epic_key, settings=s, client=client, trigger="api",
                                      write_back=req.write_back, dry_run=req.dry_run, formats=req.formats)
        except CasewrightError as err:
            raise HTTPException(400, str(err)) from None
        except redis.RedisError as err:
            raise HTTPException(503, f"Redis is unreachable ({type(err).__name__})") from None
        return JobQueued(job_id=queued.job_id, epic_key=queued.epic_key, coalesced=queued.coalesced)

    @app.get("/jobs/{job_id}", tags=["jobs"], response_model=JobState, dependencies=[Depends(require_api_key)],
             summary="State, progress and result of a job",
             responses={401: {"model": Problem}, 404: {"model": Problem}, 503: {"model": Problem}})
    def get_job(job_id: str) -> JobState:
        try:
            status = job_status(job_id, settings=s)
        except redis.RedisError as err:
            raise HTTPException(503, f"Redis is unreachable ({type(err).__name__})") from None
        if status is None:
            raise HTTPException(404, f"no job {job_id}; job records are kept for 7 days")
        return JobState(**status)

    @app.get("/healthz", tags=["operations"], response_model=Health, summary="Are Redis and the store reachable?",
             responses={503: {"model": Health, "description": "Something the service needs is down"}})
    def healthz() -> JSONResponse:
        checks = {"redis": _check_redis(client), "store": _check_store(s)}
        ok = all(c.ok for c in checks.values())
        body = Health(status="ok" if ok else "unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/ui", create_ui(s))  # the review pages (workers/ui/), same key as the job endpoints
    return app


def _check_redis(client: redis.Redis) -> Check:
    try:
        started = time.perf_counter()
        client.ping()
        return Check(ok=True, detail=f"PING answered in {1000 * (time.perf_counter() - started):.1f} ms")
    except redis.RedisError as err:
        return Check(ok=False, detail=f"Redis unreachable: {err}")


def _check_store(s: Settings) -> Check:
    if s.qdrant_url:
        headers = {"api-key": s.qdrant_api_key.get_secret_value()} if s.qdrant_api_key else {}
        try:
            r = httpx.get(s.qdrant_url.rstrip("/") + "/readyz", headers=headers, timeout=2.0)
        except httpx.HTTPError as err:
            return Check(ok=False, detail=f"Qdrant unreachable: {type(err).__name__}")
        if r.status_code >= 400:
            return Check(ok=False, detail=f"Qdrant answered {r.status_code} to /readyz")
        return Check(ok=True, detail="Qdrant server ready")
    path = s.store_path
    parent = path if path.exists() else s.data_dir
    probe = parent if parent.exists() else parent.parent
    if probe.exists() and os.access(probe, os.W_OK):
        return Check(ok=True, detail=f"embedded store at {path} (writable)")
    return Check(ok=False, detail=f"embedded store at {path} is not writable; set CASEWRIGHT_DATA_DIR or QDRANT_URL")


def _app_from_env() -> FastAPI:  # uvicorn --factory workers.api:_app_from_env
    return create_app()
