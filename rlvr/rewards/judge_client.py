"""A client for an OpenAI-compatible completions endpoint (``vllm serve``, SGLang, TGI, a hosted
API) that assumes the peer may be slow, overloaded, dead or hostile.

Standard library only (``http.client``: no proxy or redirect surprises, no new dependency). What it
guarantees, and why:

* **Timeouts**: every request has a total deadline (``timeout``), reads included, so a server that
  drips one byte at a time cannot hold a training step hostage.
* **Retries** with exponential backoff and full jitter (AWS Architecture Blog, "Exponential Backoff
  And Jitter", 2015) on connection errors, timeouts, 408, 429 and 5xx, waiting what ``Retry-After``
  says when the server says it. Any other 4xx is the caller's mistake (a wrong model name, a prompt
  too long for the judge, a bad key) and retrying cannot fix it: it stops the run with the server's
  message (:class:`~rlvr.errors.RlvrError`).
* A **circuit breaker**: after ``max_failures`` consecutive requests failed (each after its
  retries), :class:`JudgeUnavailable` stops the run naming the URL and the last failure. A dead
  judge must never quietly turn into a reward of zero for every completion.
* **Rate limit** (a token bucket of one: requests at least ``1 / requests_per_second`` apart) and
  ``concurrency`` requests in flight from a small thread pool.
* An LRU **cache** keyed by the exact request body: a batch full of identical completions (common
  early in RL) costs one request, and so does a completion seen in an earlier step.
* **Bounded responses**: a body over ``max_response_bytes``, or one that is not the JSON the API
  promises, is a failed request like any other.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from rlvr.errors import RlvrError

RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


class JudgeUnavailable(RlvrError):
    """The judge endpoint failed ``max_failures`` requests in a row: the run stops rather than
    rewarding every completion with the fallback."""


@dataclass
class Reply:
    """One judgement: the judge's text and what it cost in tokens (the server's ``usage``)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Retryable(Exception):
    """A failed attempt worth repeating; ``retry_after``: the server's requested wait in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _CircuitOpen(Exception):
    """Raised inside worker threads once the breaker has opened: stop sending."""


def parse_url(url: str) -> tuple[str, str, int, str]:
    """``http(s)://host[:port]/base`` -> (scheme, host, port, base path without a trailing slash)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must look like http://host:port/v1, got '{url}'")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"bad port in '{url}'") from None
    if parts.username or parts.password:
        raise ValueError("put no credentials in the URL (they would be logged with the config); use reward.judge.api_key_env")
    return parts.scheme, parts.hostname, port, parts.path.rstrip("/")


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (delta-seconds or an HTTP date) in seconds, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class TokenBucket:
    """At most ``rate`` acquisitions per second, evenly spaced (a bucket holding one token: an
    endpoint's limit is usually per second, and a burst at every step start would trip it)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.next = 0.0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = self.clock()
            start = max(now, self.next)
            self.next = start + self.interval
        if start > now:
            self.sleep(start - now)


class JudgeClient:
    """Completions from an OpenAI-compatible endpoint, ``api`` ``completions`` (a prompt string)
    or ``chat`` (a list of messages). :meth:`complete` returns one :class:`Reply` per request, or
    None for a request that failed after its retries; :meth:`take_metrics` what they cost."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api: Literal["completions", "chat"] = "chat",
        api_key: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_failures: int = 3,
        requests_per_second: float = 0.0,
        concurrency: int = 8,
        cache_size: int = 10_000,
        max_response_bytes: int = 1 << 20,
    ):
        self.url = url
        scheme, self.host, self.port, base = parse_url(url)
        self.connection_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        self.api = api
        self.path = f"{base}/{'chat/completions' if api == 'chat' else 'completions'}"
        self.endpoint = f"{scheme}://{self.host}:{self.port}{self.path}"  # for messages: the URL as requested, never a key
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.params: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": temperature, "n": 1}
        if stop:
            self.params["stop"] = list(stop)
        self.timeout, self.retries, self.backoff, self.max_backoff = timeout, retries, backoff, max_backoff
        self.max_failures, self.max_response_bytes, self.cache_size = max_failures, max_response_bytes, cache_size
        self.bucket = TokenBucket(requests_per_second)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rlvr-judge")
        self.cache: OrderedDict[str, Reply] = OrderedDict()
        self.lock = threading.Lock()
        self.consecutive_failures = 0
        self.open_reason: str | None = None  # set when the breaker opens: the last failure
        self.metrics: dict[str, float] = {}

    # ------------------------------------------------------------------------- public

    def complete(self, requests: list[str] | list[list[dict[str, str]]]) -> list[Reply | None]:
        """A reply per request, in order; identical requests (in this batch or cached) cost one."""
        bodies = [json.dumps({**self.params, ("messages" if self.api == "chat" else "prompt"): r}, sort_keys=True) for r in requests]
        out: dict[str, Reply | None] = {}
        misses: list[str] = []
        with self.lock:
            for body in dict.fromkeys(bodies):
                if body in self.cache:
                    self.cache.move_to_end(body)
                    out[body] = self.cache[body]
                else:
                    misses.append(body)
            self._count("judge_cache_hits", len(bodies) - len(misses))
        for body, reply in zip(misses, self.pool.map(self._request, misses)):
            out[body] = reply
        if self.open_reason is not None:
            raise JudgeUnavailable(
                f"judge endpoint {self.url} is unavailable: {self.max_failures} requests in a row failed after "
                f"{self.retries} retries each (last: {self.open_reason})"
            )
        return [out[b] for b in bodies]

    def take_metrics(self) -> dict[str, float]:
        """Counts since the last call: requests sent (retries included), retries, failed requests,
        cache hits, prompt and completion tokens."""
        with self.lock:
            taken, self.metrics = self.metrics, {}
        return taken

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------------- internals

    def _count(self, key: str, n: float = 1) -> None:
        self.metrics[key] = self.metrics.get(key, 0) + n  # callers hold self.lock

    def _request(self, body: str) -> Reply | None:
        last = ""
        for attempt in range(self.retries + 1):
            if self.open_reason is not None:  # another thread opened the breaker: stop sending
                return None
            if attempt:
                with self.lock:
                    self._count("judge_retries")
            self.bucket.acquire()
            with self.lock:
                self._count("judge_requests")
            try:
                reply = self._post(body)
            except _Retryable as e:
                last = str(e)
                if attempt < self.retries:
                    wait = e.retry_after if e.retry_after is not None else self.backoff * 2**attempt * random.random()
                    time.sleep(min(wait, self.max_backoff))
                continue
            with self.lock:
                self.consecutive_failures = 0
                self._count("judge_prompt_tokens", reply.prompt_tokens)
                self._count("judge_completion_tokens", reply.completion_tokens)
                if self.cache_size:
                    self.cache[body] = reply
                    while len(self.cache) > self.cache_size:
                        self.cache.popitem(last=False)
            return reply
        with self.lock:
            self._count("judge_failures")
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.max_failures and self.open_reason is None:
                self.open_reason = last
        return None

    def _post(self, body: str) -> Reply:
        """One attempt; raises :class:`_Retryable` for what a retry may fix, RlvrError for what it cannot."""
        deadline = time.monotonic() + self.timeout
        conn = self.connection_type(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", self.path, body=body.encode(), headers=self.headers)
            resp = conn.getresponse()
            data = self._read(conn, resp, deadline)
        except TimeoutError:
            raise _Retryable(f"no complete response within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            raise _Retryable(f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
        if resp.status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {resp.status} {resp.reason}", retry_after_seconds(resp.getheader("Retry-After")))
        if resp.status != 200:
            snippet = data[:300].decode("utf-8", "replace").strip()
            raise RlvrError(f"judge endpoint {self.endpoint}: HTTP {resp.status} {resp.reason} (a bad request, not retried): {snippet}")
        return self._parse(data)

    def _read(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, deadline: float) -> bytes:
        """The body, at most ``max_response_bytes``, before ``deadline``."""
        chunks, size = [], 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_response_bytes:
                raise _Retryable(f"response larger than {self.max_response_bytes} bytes")
            chunks.append(chunk)

    def _parse(self, data: bytes) -> Reply:
        try:
            doc = json.loads(data)
            choice = doc["choices"][0]
            text = choice["message"]["content"] if self.api == "chat" else choice["text"]
            if not isinstance(text, str):
                raise TypeError("the completion text is not a string")
            usage = doc.get("usage") or {}
            return Reply(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            raise _Retryable(f"not a valid {self.api} API response ({type(e).__name__}: {str(e)[:100]})") from None
