"""Webhook receiver benchmark: signed Jira deliveries at a sustained rate against `casewright serve`.

    .venv/bin/python bench/webhook.py                      # 500/s for 20 s, the Redis at REDIS_URL
    .venv/bin/python bench/webhook.py --rate 800 --duration 10 --epics 500 --dup-ratio 0.1

It starts `casewright serve` on a free loopback port against the Redis that REDIS_URL names (the
product's default, redis://127.0.0.1:6379/0, when unset: point it at a throwaway server if that
one is shared), under a private key prefix removed afterwards; no worker runs, so every queued job stays countable), sends
`rate x duration` signed `jira:issue_updated` deliveries on an open-loop schedule (each request
leaves at its planned time whether or not earlier ones were answered), re-sends a share of them
with the same `X-Atlassian-Webhook-Identifier` (Jira's retries), and prints:

* p50 / p90 / p99 / max latency from sending a delivery to its 202 (or 200 for a duplicate),
  measured when the request leaves on a free keep-alive connection;
* the achieved send rate and how late the sender fell behind its schedule;
* the CPU seconds the server processes and Redis spent per delivery (what sizes the number of
  API workers for a rate: one core serves about 1000 / (ms a delivery) deliveries a second);
* the exactly-once check: every accepted delivery is enqueued, coalesced into the epic's queued
  job, or answered as a duplicate of its first delivery, and the broker holds exactly one message
  per job (no job lost, none queued twice), with the jobs' trigger counts adding up.

Loopback only, bounded by --duration; it never touches keys outside its own prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import redis
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.settings import get_settings  # noqa: E402
from workers.celery_wire import queue_key  # noqa: E402

SECRET = "bench-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delivery_body(n: int, epic: int, story: int) -> bytes:
    return json.dumps({
        "timestamp": int(time.time() * 1000) + n,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_updated",
        "user": {"displayName": "Bench"},
        "issue": {"id": str(100000 + story), "key": f"BEN-{story}", "fields": {
            "summary": f"Story {story}", "issuetype": {"name": "Story"}, "project": {"key": "BEN"},
            "labels": [], "status": {"name": "In Progress"},
            "parent": {"key": f"BEN-{epic}", "fields": {"issuetype": {"name": "Epic"}}}}},
        "changelog": {"id": str(n), "items": [{"field": "Acceptance Criteria", "fieldtype": "custom",
                                               "fieldId": "customfield_10050", "fromString": "a",
                                               "toString": f"revision {n}"}]},
    }).encode()


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants (Linux /proc):
    `casewright serve` and, with --server-workers above 1, its uvicorn worker processes."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def redis_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """A keep-alive HTTP/1.1 connection on asyncio streams: a load generator light enough to
    keep its schedule on the same two cores as the server (httpx costs ~1 ms of CPU a request)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def send_all(host: str, port: int, plan: list[tuple[float, str, bytes]], connections: int) -> list[dict]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(host, port))
    results: list[dict] = []
    start = time.perf_counter() + 0.2

    async def one(at: float, delivery: str, body: bytes) -> None:
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": delivery,
                   "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
        conn = await pool.get()
        sent = time.perf_counter()
        try:
            status, raw = await conn.post("/webhooks/jira", body, headers)
            payload = json.loads(raw) if raw else {}
        except (OSError, ValueError, asyncio.IncompleteReadError) as err:
            status, payload = 0, {"error": type(err).__name__}
            conn.close()
            conn = await Connection.open(host, port)
        done = time.perf_counter()
        pool.put_nowait(conn)
        results.append({"delivery": delivery, "status": status, "body": payload, "latency": done - sent,
                        "late": sent - (start + at)})

    await asyncio.gather(*(one(at, d, b) for at, d, b in plan))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    results.append({"elapsed": elapsed})
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=500.0, help="deliveries per second (default 500)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of sending (default 20)")
    ap.add_argument("--epics", type=int, default=1000, help="distinct epics the stories belong to")
    ap.add_argument("--dup-ratio", type=float, default=0.05, help="share of deliveries re-sent (Jira retries)")
    ap.add_argument("--redis-url", default=None,
                    help="Redis for the service under test (default: REDIS_URL, as the product reads it); "
                         "its keys carry a fresh cwbench-* prefix and are deleted afterwards")
    ap.add_argument("--server-workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--connections", type=int, default=32, help="client keep-alive connections")
    args = ap.parse_args()
    if args.duration > 120 or args.rate > 5000:
        sys.exit("bounded benchmark: --duration <= 120 and --rate <= 5000")

    prefix = f"cwbench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    redis_url = args.redis_url or get_settings().redis_url
    env = {**os.environ, "REDIS_URL": redis_url,
           "CASEWRIGHT_REDIS_PREFIX": prefix, "CASEWRIGHT_WEBHOOK_SECRET": SECRET,
           "CASEWRIGHT_API_KEY": "bench", "CASEWRIGHT_DATA_DIR": f"/tmp/{prefix}"}
    server = subprocess.Popen([sys.executable, "-c", "from casewright.cli import main; main()",
                               "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", str(args.server_workers),
                               "--log-level", "warning"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    r = redis.Redis.from_url(redis_url)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("casewright serve did not start: " + (server.stderr.read() or b"").decode()[-2000:])
            time.sleep(0.2)

        total = int(args.rate * args.duration)
        rng = random.Random(42)
        plan: list[tuple[float, str, bytes]] = []
        originals: list[tuple[str, bytes]] = []
        for n in range(total):
            at = n / args.rate
            if originals and rng.random() < args.dup_ratio:
                delivery, body = rng.choice(originals)  # a retry: same identifier, same body
            else:
                epic = rng.randrange(args.epics) * 100 + 1
                delivery, body = str(uuid.uuid4()), delivery_body(n, epic, epic + 1 + rng.randrange(50))
                originals.append((delivery, body))
            plan.append((at, delivery, body))

        print(f"sending {total} signed deliveries at {args.rate:.0f}/s for {args.duration:.0f}s to {url} "
              f"({len(originals)} distinct, {total - len(originals)} re-sent; {args.epics} epics; "
              f"server workers: {args.server_workers}; Redis {redis_url}, prefix {prefix})")
        cpu0, redis0, load0 = tree_cpu_s(server.pid), redis_cpu_s(r), os.getloadavg()[0]
        results = uvloop.run(send_all("127.0.0.1", port, plan, args.connections))
        elapsed = results.pop()["elapsed"]
        server_cpu, redis_cpu = tree_cpu_s(server.pid) - cpu0, redis_cpu_s(r) - redis0

        outcomes = Counter(res["body"].get("outcome", f"HTTP {res['status']}") for res in results)
        lat = [res["latency"] * 1000 for res in results if res["status"] in (200, 202)]
        late = [res["late"] * 1000 for res in results]
        print(f"sent in {elapsed:.1f}s = {len(results) / elapsed:.0f}/s achieved; sender lateness "
              f"p50 {percentile(late, 0.5):.1f} ms, p99 {percentile(late, 0.99):.1f} ms")
        print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        per = 1000 * server_cpu / max(1, len(results))
        print(f"server CPU {server_cpu:.2f} s = {per:.2f} ms a delivery (one core serves about "
              f"{1000 / per if per else 0:.0f}/s); Redis CPU {1000 * redis_cpu / max(1, len(results)):.3f} ms a "
              f"delivery; load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} CPUs)")
        if lat:
            print(f"latency to 202/200 (ms): p50 {percentile(lat, 0.5):.2f}  p90 {percentile(lat, 0.9):.2f}  "
                  f"p99 {percentile(lat, 0.99):.2f}  max {max(lat):.2f}  mean {statistics.fmean(lat):.2f}")
            sched = [(res["latency"] + max(0.0, res["late"])) * 1000 for res in results if res["status"] in (200, 202)]
            print(f"from the planned send time (open loop, incl. client delays) (ms): p50 {percentile(sched, 0.5):.2f}  "
                  f"p99 {percentile(sched, 0.99):.2f}")

        # -- exactly once ------------------------------------------------------------------------
        problems: list[str] = []
        first_job: dict[str, str] = {}
        accepted = 0
        for res in sorted(results, key=lambda x: x["body"].get("outcome") == "duplicate"):
            outcome = res["body"].get("outcome")
            if outcome in ("enqueued", "coalesced"):
                accepted += 1
                if res["delivery"] in first_job:
                    problems.append(f"delivery {res['delivery']} was queued twice")
                first_job[res["delivery"]] = res["body"]["job_id"]
            elif outcome != "duplicate":
                problems.append(f"delivery {res['delivery']}: {res['status']} {res['body']}")
        distinct = {d for _, d, _ in plan}
        if set(first_job) != distinct:
            problems.append(f"{len(distinct - set(first_job))} distinct deliveries were never queued")
        for res in results:
            if res["body"].get("outcome") == "duplicate":
                want = first_job.get(res["delivery"])
                got = res["body"].get("job_id")
                if got is not None and got != want:
                    problems.append(f"duplicate {res['delivery']} points at {got}, first delivery got {want}")
        queue = [json.loads(m)["headers"]["id"] for m in
                 r.lrange(queue_key(get_settings().model_copy(update={"redis_prefix": prefix})), 0, -1)]
        job_ids = set(first_job.values())
        enqueued = [res for res in results if res["body"].get("outcome") == "enqueued"]
        if len(queue) != len(set(queue)):
            problems.append("a job was published to the broker twice")
        if set(queue) != job_ids or len(queue) != len(enqueued):
            problems.append(f"broker holds {len(queue)} jobs; responses name {len(job_ids)}; "
                            f"{len(enqueued)} answered 'enqueued'")
        triggers = 0
        pipe = r.pipeline(transaction=False)
        for job in job_ids:
            pipe.hget(f"{prefix}:job:{job}", "triggers")
        for value in pipe.execute():
            triggers += int(value or 0)
        if triggers != accepted:
            problems.append(f"jobs count {triggers} triggers, {accepted} deliveries were accepted")
        dedupe_keys = sum(1 for _ in r.scan_iter(match=f"{prefix}:delivery:*", count=1000))
        if dedupe_keys != len(distinct):
            problems.append(f"{dedupe_keys} de-duplication keys for {len(distinct)} distinct deliveries")
        print(f"exactly-once: {len(distinct)} distinct deliveries -> {accepted} accepted once "
              f"({outcomes['enqueued']} new jobs + {outcomes['coalesced']} coalesced into a queued job), "
              f"{outcomes['duplicate']} re-sends answered as duplicates; broker holds {len(queue)} job "
              f"messages for {len(job_ids)} job ids; job trigger counts sum to {triggers}: "
              + ("OK" if not problems else "FAILED"))
        for p in problems[:10]:
            print("  problem:", p)
        return 0 if not problems else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i:i + 500])


if __name__ == "__main__":
    sys.exit(main())
