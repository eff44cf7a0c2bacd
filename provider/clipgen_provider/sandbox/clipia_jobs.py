"""Clipia jobs and accounts of the sandbox: lifecycle, money and idempotency, per API key.

Job states are computed lazily from timestamps: a job is ``IN_QUEUE`` for ``queue_seconds``,
``IN_PROGRESS`` for ``run_seconds`` (both copied from the settings at submit), then terminal.
With the ``realism`` setting each job also gets a seeded :class:`~clipgen_provider.sandbox.pace.Pace`
(its own waits, queue moves and uneven progress).
Nothing ticks in the background, so thousands of jobs cost nothing while nobody looks at them.
Money is settled the same way, the first time an account is read after a job ended.

A test can *hold* a key's next jobs at a share of their run (:meth:`ClipiaStore.hold`): each one
stays ``IN_PROGRESS`` there until :meth:`ClipiaStore.release`, then runs the rest of its time. A
test waits on a state (a progress line seen) instead of racing the job's clock.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from clipgen_provider.sandbox.clipia_catalog import Model, is_http_url, queued_model, resolve_input
from clipgen_provider.sandbox.clipia_http import ClipiaError, credits_number, iso_utc, key_fingerprint
from clipgen_provider.sandbox.media import file_size, media_url
from clipgen_provider.sandbox.pace import Pace, draw_pace
from clipgen_provider.sandbox.settings import SandboxSettings
from clipgen_provider.sandbox.webhook_sender import Delivery, WebhookSender

#: a prompt containing this fails the job (cost 0)
FAIL_MARKER = "[sandbox:fail]"
#: a prompt containing this ends the job CANCELED (cost 0)
CANCEL_MARKER = "[sandbox:cancel]"
#: ``[sandbox:size=N]`` in a prompt makes every output file exactly N bytes
_SIZE_MARKER = re.compile(r"\[sandbox:size=([0-9]+)\]")
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELED"})
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
_MAX_IDEMPOTENCY_KEY = 255
_LONG_SIDE = 64


def _image_size(aspect_ratio: str) -> tuple[int, int]:
    """Return the pixel size of an image of ``aspect_ratio`` whose long side is 64 px."""
    wide, high = (int(v) for v in aspect_ratio.split(":"))
    if wide >= high:
        return _LONG_SIDE, max(1, round(_LONG_SIDE * high / wide))
    return max(1, round(_LONG_SIDE * wide / high)), _LONG_SIDE


@dataclass(eq=False, slots=True)
class Job:
    """One queued generation; its state at any moment follows from its timestamps."""

    id: str
    model: Model
    input: dict[str, Any]
    warnings: list[dict[str, str]]
    cost: int
    created: float
    #: how many jobs the account had submitted before this one (for queue positions)
    seq: int
    queue_seconds: float
    run_seconds: float
    #: the terminal status the job reaches on its own
    outcome: str
    media_size: int | None
    webhook_url: str | None
    #: base URL of the submit, for the media URLs of the webhook body
    base_url: str
    created_at: str = ""
    started_at: str = ""
    canceled_at: float | None = None
    #: whether the account has already charged or refunded it
    settled: bool = False
    #: its uneven timeline under the ``realism`` setting (None: even progress)
    pace: Pace | None = None
    #: while held, the moment of its own timeline it stops at (see :meth:`clock`)
    hold_at: float | None = None
    #: seconds it stood still at a released hold; its timeline runs that much later
    paused: float = 0.0

    def __post_init__(self) -> None:
        self.created_at = iso_utc(self.created)
        self.started_at = iso_utc(self.started)

    @property
    def started(self) -> float:
        """When the job leaves the queue."""
        return self.created + self.queue_seconds

    @property
    def end(self) -> float:
        """When the job is (or will be) terminal; infinitely far while it is held."""
        if self.canceled_at is not None:
            return self.canceled_at
        return math.inf if self.hold_at is not None else self.started + self.run_seconds + self.paused

    def clock(self, now: float) -> float:
        """The job's own time at ``now``: wall time less the pauses, stopped at a hold."""
        own = now - self.paused
        return own if self.hold_at is None else min(own, self.hold_at)

    def release(self, now: float) -> None:
        """End the hold: from ``now`` on the job runs the rest of its time."""
        if self.hold_at is not None:
            self.paused = max(self.paused, now - self.hold_at)
            self.hold_at = None

    def status(self, now: float) -> str:
        """Return the status at ``now``."""
        if self.canceled_at is not None and now >= self.canceled_at:
            return "CANCELED"
        own = self.clock(now)
        if own >= self.started + self.run_seconds:
            return self.outcome
        return "IN_QUEUE" if own < self.started else "IN_PROGRESS"

    def cost_for(self, status: str) -> int:
        """The reserve while running, the charge once finished (nothing for FAILED/CANCELED)."""
        return 0 if status in ("FAILED", "CANCELED") else self.cost

    def progress(self, now: float, status: str) -> int | None:
        """Integer percentage: rises while running, 100 once completed, unknown if it did not."""
        if status == "IN_PROGRESS":
            ran = self.clock(now) - self.started
            if self.pace is not None:
                return self.pace.progress(ran)
            return min(99, int(100 * ran / self.run_seconds))
        return {"IN_QUEUE": 0, "COMPLETED": 100}.get(status)

    def error(self, status: str) -> dict[str, str] | None:
        """The ``{code, message}`` of a FAILED or CANCELED job."""
        if status == "FAILED":
            return {"code": "generation_failed", "message": f"The prompt contains {FAIL_MARKER}"}
        if status == "CANCELED":
            reason = (
                "canceled out of band" if self.canceled_at is not None else f"prompt contains {CANCEL_MARKER}"
            )
            return {"code": "canceled", "message": f"The request was canceled ({reason})"}
        return None

    def logs(self, now: float, status: str) -> list[dict[str, str]]:
        """The status log lines up to ``now``."""
        lines = [{"message": "Request queued", "timestamp": self.created_at}]
        never_started = self.canceled_at is not None and self.canceled_at < self.started
        if self.clock(now) >= self.started and not never_started:
            lines.append(
                {"message": f"Generation started on {self.model.slug}", "timestamp": self.started_at}
            )
        if status in TERMINAL:
            error = self.error(status)
            message = f"Generation {status.lower()}" + (f": {error['message']}" if error else "")
            lines.append({"message": message, "timestamp": iso_utc(self.end)})
        return lines

    def output(self, base_url: str) -> dict[str, Any]:
        """The ``output`` of the completed job, with media URLs under ``base_url``."""
        size = self.media_size
        if self.model.type == "image":
            width, height = _image_size(self.input["aspect_ratio"])
            images = []
            for index in range(self.input["num_images"]):
                item = f"{self.id}-{index}-{width}x{height}"
                images.append(
                    {
                        "url": media_url(base_url, item, "png", size),
                        "content_type": "image/png",
                        "width": width,
                        "height": height,
                        "file_size": file_size(item, "png", size),
                    }
                )
            return {"images": images}
        if self.model.type == "video":
            item = f"{self.id}-video"
            return {
                "video": {
                    "url": media_url(base_url, item, "mp4", size),
                    "content_type": "video/mp4",
                    "file_size": file_size(item, "mp4", size),
                }
            }
        tracks = [
            {
                "url": media_url(base_url, f"{self.id}-track{index}", "mp3", size),
                "format": "mp3",
                "content_type": "audio/mpeg",
                "file_size": file_size(f"{self.id}-track{index}", "mp3", size),
            }
            for index in range(self.model.audio_tracks)
        ]
        return {"audio": tracks[0], "audios": tracks}

    def status_payload(self, now: float, queue_position: int | None) -> dict[str, Any]:
        """The body of the status call (and of the result call's 202)."""
        status = self.status(now)
        return {
            "request_id": self.id,
            "status": status,
            "queue_position": queue_position if status == "IN_QUEUE" else None,
            "progress": self.progress(now, status),
            "logs": self.logs(now, status),
        }

    def result_payload(self, base_url: str, now: float | None = None) -> dict[str, Any]:
        """The 200 body of the result call once the job is terminal (at ``now``, default its end)."""
        status = self.status(self.end if now is None else now)
        return {
            "request_id": self.id,
            "status": status,
            "model": self.model.slug,
            "output": self.output(base_url) if status == "COMPLETED" else None,
            "error": self.error(status),
            "cost": self.cost_for(status),
            "created_at": self.created_at,
            "completed_at": iso_utc(self.end),
        }

    def webhook_payload(self) -> dict[str, Any]:
        """The webhook body announcing the job's terminal state."""
        result = self.result_payload(self.base_url)
        ok = result["status"] == "COMPLETED"
        return {
            "request_id": self.id,
            "status": "OK" if ok else "ERROR",
            "payload": result["output"],
            "error": result["error"],
        }


@dataclass(eq=False)
class Account:
    """One API key's world: balance, jobs, idempotency store and usage."""

    fingerprint: str
    initial_credits: float
    readonly: bool
    subscribed: bool
    jobs: dict[str, Job] = field(default_factory=dict)
    #: Idempotency-Key -> (body digest, request id, stored at)
    idempotency: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    #: submission times in order, for queue positions
    submitted: list[float] = field(default_factory=list)
    #: unsettled jobs as a heap of (end, seq, job)
    unsettled: list[tuple[float, int, Job]] = field(default_factory=list)
    #: hold the next jobs at this share of their run (0-1) until released; None: no hold
    hold_share: float | None = None
    #: credits reserved by running jobs plus charged for completed ones
    committed: float = 0.0
    spent: float = 0.0
    requests: int = 0
    running: int = 0

    @property
    def balance(self) -> float:
        """Credits left: initial minus reserves minus charges (call :meth:`settle` first)."""
        return self.initial_credits - self.committed

    def add(self, job: Job) -> None:
        """Record a new job and reserve its cost (a held one is settled once released)."""
        self.jobs[job.id] = job
        self.submitted.append(job.created)
        if job.hold_at is None:
            heapq.heappush(self.unsettled, (job.end, job.seq, job))
        self.committed += job.cost
        self.running += 1
        self.requests += 1

    def settle(self, now: float) -> None:
        """Charge or refund every job that ended by ``now``."""
        while self.unsettled and self.unsettled[0][0] <= now:
            job = heapq.heappop(self.unsettled)[2]
            self.finish(job, now)

    def finish(self, job: Job, now: float) -> None:
        """Turn a terminal job's reserve into a charge (COMPLETED) or a refund (otherwise)."""
        if job.settled:
            return
        job.settled = True
        self.running -= 1
        if job.status(max(now, job.end)) == "COMPLETED":
            self.spent += job.cost
        else:
            self.committed -= job.cost

    def queue_position(self, job: Job, now: float) -> int:
        """0-based count of this account's earlier jobs still queued (O(log n)); under ``realism``
        the place its pace gives it in a queue shared with others."""
        if job.pace is not None:
            return job.pace.queue_position(now - job.created)
        started = bisect.bisect_right(self.submitted, now - job.queue_seconds, 0, job.seq)
        return job.seq - started


def _check_media_size(job: Job) -> None:
    """Refuse a ``[sandbox:size=N]`` that some output file cannot be padded to, before it runs."""
    if job.media_size is None:
        return
    try:
        job.output(job.base_url)
    except ClipiaError as exc:
        raise ClipiaError(
            400, "model_input_invalid", f"input.prompt: [sandbox:size=N]: {exc.message}"
        ) from exc


def _body_digest(slug: str, body: dict[str, Any]) -> str:
    """Fingerprint a submit for idempotency: same model and same JSON body, key order aside."""
    canonical = json.dumps({"model": slug, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _input_of(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body["input"]``, which must be a JSON object."""
    value = body.get("input")
    if not isinstance(value, dict):
        raise ClipiaError(400, "invalid_request", "body.input must be a JSON object")
    return value


class ClipiaStore:
    """Every account of the Clipia sandbox, keyed by API key, and the operations on them."""

    def __init__(self, settings: SandboxSettings, webhooks: WebhookSender) -> None:
        self.settings = settings
        self.webhooks = webhooks
        self.accounts: dict[str, Account] = {}

    def reset(self) -> None:
        """Forget every account, job and idempotency key."""
        self.accounts.clear()

    def account(self, key: str) -> Account:
        """Return the key's account, opening it on first use (key prefixes select test personas)."""
        account = self.accounts.get(key)
        if account is None:
            broke = key.startswith("clipia_test_broke")
            account = Account(
                fingerprint=key_fingerprint(key),
                initial_credits=0.0 if broke else float(self.settings.initial_credits),
                readonly=key.startswith("clipia_test_readonly"),
                subscribed=not key.startswith("clipia_test_nosub"),
            )
            self.accounts[key] = account
        return account

    def job(self, key: str, request_id: str) -> tuple[Account, Job]:
        """Return a job of the key's account, or raise ``404 not_found``."""
        account = self.account(key)
        job = account.jobs.get(request_id)
        if job is None:
            raise ClipiaError(404, "not_found", f"No request {request_id!r} for this API key")
        return account, job

    def submit(
        self, key: str, slug: str, body: dict[str, Any], idempotency_key: str | None, base_url: str
    ) -> dict[str, Any]:
        """Validate, deduplicate, reserve credits and queue a job; return the submit answer."""
        account = self.account(key)
        if account.readonly:
            raise ClipiaError(403, "insufficient_scope", "This API key is read-only: it cannot submit")
        model = queued_model(slug)
        values, warnings = resolve_input(model, _input_of(body))
        webhook_url = body.get("webhook_url")
        if webhook_url is not None and not (isinstance(webhook_url, str) and is_http_url(webhook_url)):
            raise ClipiaError(400, "webhook_url_invalid", "webhook_url must be an absolute http(s) URL")
        if idempotency_key is not None and not 0 < len(idempotency_key) <= _MAX_IDEMPOTENCY_KEY:
            raise ClipiaError(400, "invalid_request", "Idempotency-Key must have 1 to 255 characters")
        now = time.time()
        account.settle(now)
        digest = _body_digest(slug, body)
        stored = account.idempotency.get(idempotency_key) if idempotency_key else None
        if stored is not None and now - stored[2] < IDEMPOTENCY_TTL_SECONDS:
            if stored[0] != digest:
                raise ClipiaError(
                    409, "idempotency_key_reuse", "This Idempotency-Key was used with a different body"
                )
            return self._submit_payload(account, account.jobs[stored[1]], now, base_url)
        self._check_can_start(account, model)
        cost = model.price(values)
        if cost > account.balance:
            raise ClipiaError(
                402,
                "insufficient_credits",
                f"This request needs {cost} credits; the balance is {credits_number(account.balance)}",
            )
        job = self._new_job(account, model, values, warnings, cost, now, webhook_url, base_url)
        if account.hold_share is not None:
            job.hold_at = job.started + job.run_seconds * account.hold_share
        _check_media_size(job)
        account.add(job)
        if idempotency_key:
            account.idempotency[idempotency_key] = (digest, job.id, now)
        self._schedule_webhook(account, job)
        return self._submit_payload(account, job, now, base_url)

    def _schedule_webhook(self, account: Account, job: Job) -> None:
        """(Re)schedule the job's webhook for the moment it turns terminal, if it has one (a held
        job's is scheduled once released)."""
        if job.webhook_url and job.end < math.inf:
            self.webhooks.schedule(
                Delivery(job.id, job.webhook_url, job.end, account.fingerprint, job.webhook_payload)
            )

    def _check_can_start(self, account: Account, model: Model) -> None:
        """Refuse a new job the account's plan or concurrency limit does not allow."""
        if model.requires_subscription and not account.subscribed:
            raise ClipiaError(402, "subscription_required", f"{model.slug} needs an active subscription")
        limit = self.settings.concurrency_limit
        if limit and account.running >= limit:
            raise ClipiaError(
                429,
                "concurrency_limit_exceeded",
                f"{account.running} generations are in flight; the limit is {limit}",
                headers={"Retry-After": "1"},
            )

    def _new_job(
        self,
        account: Account,
        model: Model,
        values: dict[str, Any],
        warnings: list[dict[str, str]],
        cost: int,
        now: float,
        webhook_url: str | None,
        base_url: str,
    ) -> Job:
        """Build a job, fixing its timings and planned outcome now."""
        prompt = values.get("prompt") or ""
        size = _SIZE_MARKER.search(prompt)
        outcome = (
            "FAILED" if FAIL_MARKER in prompt else "CANCELED" if CANCEL_MARKER in prompt else "COMPLETED"
        )
        settings = self.settings
        queue_seconds, run_seconds = float(settings.queue_seconds), float(settings.run_seconds)
        pace = None
        if settings.realism:
            pace = draw_pace(settings.realism_seed, len(account.submitted), queue_seconds, run_seconds)
            queue_seconds, run_seconds = pace.queue_seconds, pace.run_seconds
        return Job(
            id=str(uuid.uuid4()),
            model=model,
            input=values,
            warnings=warnings,
            cost=cost,
            created=max(now, account.submitted[-1]) if account.submitted else now,
            seq=len(account.submitted),
            queue_seconds=queue_seconds,
            run_seconds=run_seconds,
            outcome=outcome,
            media_size=int(size.group(1)) if size else None,
            webhook_url=webhook_url,
            base_url=base_url,
            pace=pace,
        )

    def _submit_payload(self, account: Account, job: Job, now: float, base_url: str) -> dict[str, Any]:
        """The submit answer (also for idempotent replays)."""
        status = job.status(now)
        return {
            "request_id": job.id,
            "status": status,
            "queue_position": account.queue_position(job, now) if status == "IN_QUEUE" else None,
            "status_url": f"{base_url}v1/requests/{job.id}/status",
            "response_url": f"{base_url}v1/requests/{job.id}",
            "cost": job.cost_for(status),
            "warnings": job.warnings,
        }

    def status(self, key: str, request_id: str) -> dict[str, Any]:
        """The status answer."""
        account, job = self.job(key, request_id)
        now = time.time()
        return job.status_payload(now, account.queue_position(job, now))

    def result(self, key: str, request_id: str, base_url: str) -> tuple[int, dict[str, Any]]:
        """The result answer: ``202`` with lifecycle fields, or ``200`` once terminal."""
        account, job = self.job(key, request_id)
        now = time.time()
        if job.status(now) in TERMINAL:
            return 200, job.result_payload(base_url, now)
        return 202, job.status_payload(now, account.queue_position(job, now))

    def cancel(self, key: str, request_id: str) -> dict[str, Any]:
        """Cancel a running job out of band (sandbox control), refunding its reserve."""
        account, job = self.job(key, request_id)
        now = time.time()
        status = job.status(now)
        if status in TERMINAL:
            raise ClipiaError(409, "invalid_request", f"Request {request_id} is already {status}")
        job.canceled_at = now
        account.finish(job, now)
        self._schedule_webhook(account, job)
        return job.status_payload(now, None)

    def hold(self, key: str, progress: int) -> None:
        """Hold the key's jobs submitted from now on once ``progress`` percent of their run passed."""
        self.account(key).hold_share = progress / 100

    def release(self, key: str) -> list[str]:
        """Lift the key's hold and let its held jobs run on; return their request ids."""
        account = self.account(key)
        account.hold_share = None
        now = time.time()
        released = [job for job in account.jobs.values() if job.hold_at is not None]
        for job in released:
            job.release(now)
            if not job.settled:
                heapq.heappush(account.unsettled, (job.end, job.seq, job))
                self._schedule_webhook(account, job)
        return [job.id for job in released]

    def estimate(self, slug: str, body: dict[str, Any]) -> dict[str, Any]:
        """The estimate answer: the credits a submit of this input would reserve."""
        model = queued_model(slug)
        values, warnings = resolve_input(model, _input_of(body))
        return {"credits": model.price(values), "warnings": warnings}

    def account_payload(self, key: str) -> dict[str, Any]:
        """The account answer."""
        account = self.account(key)
        account.settle(time.time())
        return {
            "account_id": f"acct_{account.fingerprint}",
            "balance": {"credits": credits_number(account.balance)},
            "usage_30d": {"requests": account.requests, "credits_spent": credits_number(account.spent)},
        }
