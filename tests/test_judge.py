"""The judge reward: rubrics, the endpoint client against misbehaving local servers and a real
``vllm serve`` of the tiny model, and the in-process engines (the policy's own and a second one).

The tiny model is no judge: its "judgements" are arithmetic, so most are unparsed. What these
tests check is the plumbing: one reward per input, costs reported, failures counted or stopping the
run with one clear line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlvr.cli import main
from rlvr.data import Problem
from rlvr.errors import RlvrError
from rlvr.models.load import resolve_model_path
from rlvr.rewards import RewardContext, RewardInput, build_reward
from rlvr.rewards.config import JudgeConfig, RewardConfig
from rlvr.rewards.judge import get_rubric
from rlvr.rewards.judge_client import JudgeClient, JudgeUnavailable
from rlvr.training.distributed import free_port
from rlvr.verifiers import Verdict

# ----------------------------------------------------------------------------- rubrics


def test_builtin_rubrics_parse_their_own_format():
    rubrics = {name: get_rubric(name) for name in ("score10", "self-reward", "correct-yn")}
    score10 = rubrics["score10"]
    assert score10.score("Fine work.\nRating: [[8]]") == pytest.approx(7 / 9)
    assert score10.score("Rating: [[1]] at first, but on reflection Rating: [[10]]") == 1.0  # the last match counts
    assert score10.score("Rating: [[11]]") is None  # out of range: unparsed, not clipped
    assert score10.score("I would give it an 8.") is None
    assert rubrics["self-reward"].score("Score: 3") == pytest.approx(0.6)
    assert rubrics["correct-yn"].score("Checked.\nVerdict: YES") == 1.0
    assert rubrics["correct-yn"].score("Verdict: maybe") is None


def test_rubric_shows_the_reference_only_when_the_problem_has_a_key():
    rubric = get_rubric("score10")
    _, keyed = rubric.render("What is 2+3?", "5", "5")
    _, keyless = rubric.render("Write a haiku.", "An old pond...", "")
    assert "[Reference answer]" in keyed and "What is 2+3?" in keyed
    assert "[Reference answer]" not in keyless and "An old pond..." in keyless


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("template: '{question} {response}'\npattern: 'Score: \\d+'\nscale: [1, 10]\n", "exactly one group"),
        ("template: '{question} {answr}'\npattern: 'S: (\\d)'\nscale: [1, 10]\n", "unknown placeholder"),
        ("template: '{question} {response}'\npattern: 'S: (\\d)'\n", "exactly one of scale"),
        ("template: '{question} {response}'\npattern: 'S: (\\d)'\nscale: [10, 1]\n", "lowest < highest"),
        ("template: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_rubric_file_is_one_line_naming_it(tmp_path, capsys, text, message):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    assert main(["train", f"reward.judge.rubric={path}", "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "reward.judge.rubric" in err and str(path) in err and message in err, err


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["reward.judge.rubric=nope"], "unknown rubric 'nope' (known: correct-yn, score10, self-reward)"),
        (["reward.judge.url=localhost:8000", "reward.judge.served_model=m"], "must look like http://host:port/v1"),
        (["reward.judge.url=http://127.0.0.1:8000/v1"], "served_model is required"),
        (
            ["reward.judge.url=http://127.0.0.1:8000/v1", "reward.judge.served_model=m", "reward.judge.api_key_env=RLVR_NO_SUCH_KEY"],
            "RLVR_NO_SUCH_KEY is not set",
        ),
    ],
)
def test_bad_judge_settings_are_one_line(capsys, overrides, message):
    assert main(["train", "reward.name=judge", *overrides, "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


# ----------------------------------------------------------------------------- a misbehaving local server


class Peer:
    """A local HTTP server that answers each POST with the next scripted action (the last one
    repeats) and records the headers each carried. Counts and times are asserted on the client's
    side: on a loaded machine the server's handler threads may start late."""

    def __init__(self, actions):
        self.actions, self.arrivals, self.headers = list(actions), [], []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                peer.arrivals.append(time.monotonic())
                peer.headers.append(dict(self.headers))
                action = peer.actions.pop(0) if len(peer.actions) > 1 else peer.actions[0]
                try:
                    action(self)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up first: expected
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def send(status=200, body=b"", headers=()):
    def act(h):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return act


def completion(text="Verdict: yes", prompt_tokens=11, completion_tokens=3):
    return send(
        body=json.dumps({"choices": [{"text": text}], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}}).encode()
    )


def stall(seconds):
    return lambda h: time.sleep(seconds)


def drip(h):
    """Headers at once, then a byte every 50 ms: each read is quick, the whole never arrives in time."""
    h.send_response(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    for _ in range(1000):
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.05)


@pytest.fixture
def peer():
    servers = []

    def start(*actions):
        servers.append(Peer(actions))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def client(url, **kw):
    kw = {"api": "completions", "timeout": 5.0, "retries": 2, "backoff": 0.0, **kw}
    return JudgeClient(url, "judge", **kw)


def test_timeouts_are_retried_then_the_breaker_stops_the_run_naming_the_url(peer):
    p = peer(stall(2.0))
    c = client(p.url, timeout=0.2, retries=1, max_failures=2, concurrency=1)
    with pytest.raises(JudgeUnavailable) as e:
        c.complete(["a", "b", "c"])
    assert p.url in str(e.value) and "2 requests in a row failed" in str(e.value) and "no complete response within 0.2 s" in str(e.value)
    # two requests x (1 + 1 retry); the third was never sent
    assert c.take_metrics() == {"judge_cache_hits": 0, "judge_requests": 4, "judge_retries": 2, "judge_failures": 2}


def test_a_slow_drip_counts_against_the_total_timeout(peer):
    p = peer(drip)
    c = client(p.url, timeout=0.3, retries=0, max_failures=5)
    t0 = time.monotonic()
    assert c.complete(["a"]) == [None]
    assert time.monotonic() - t0 < 2.0 and c.take_metrics()["judge_failures"] == 1


def test_429_waits_what_retry_after_says(peer):
    p = peer(send(429, b"slow down", [("Retry-After", "1")]), completion())
    c = client(p.url)
    t0 = time.monotonic()
    [reply] = c.complete(["a"])
    assert time.monotonic() - t0 >= 1.0  # backoff is 0: only Retry-After made it wait
    assert reply.text == "Verdict: yes" and reply.prompt_tokens == 11 and reply.completion_tokens == 3
    assert c.take_metrics()["judge_retries"] == 1


def test_500_is_retried_and_then_succeeds(peer):
    p = peer(send(500, b"oops"), send(503, b"busy"), completion("Rating: [[7]]"))
    c = client(p.url)
    assert [r.text for r in c.complete(["a"])] == ["Rating: [[7]]"]
    m = c.take_metrics()
    assert m["judge_requests"] == 3 and m["judge_retries"] == 2 and "judge_failures" not in m


def test_400_is_not_retried_and_stops_with_the_servers_message(peer):
    p = peer(send(400, b'{"error": {"message": "prompt is longer than the maximum context length"}}'))
    c = client(p.url)
    with pytest.raises(RlvrError, match="HTTP 400.*maximum context length"):
        c.complete(["a"])
    assert c.take_metrics()["judge_requests"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>gateway error</html>", "not a valid completions API response"),
        (b'{"choices": []}', "not a valid completions API response"),
        (b"x" * 5000, "larger than 2048 bytes"),
    ],
)
def test_garbage_or_oversized_responses_are_failures(peer, body, message):
    p = peer(send(body=body))
    c = client(p.url, retries=1, max_failures=1, max_response_bytes=2048)
    with pytest.raises(JudgeUnavailable, match=message):
        c.complete(["a"])
    assert c.take_metrics()["judge_requests"] == 2  # retried once: a proxy's error page may be passing


def test_rate_limit_spaces_requests(peer):
    p = peer(completion())
    c = client(p.url, requests_per_second=10, concurrency=4)
    t0 = time.monotonic()
    c.complete([str(i) for i in range(6)])
    # 10 per second, 4 in flight: the sixth starts 0.5 s after the first, however fast the server
    assert time.monotonic() - t0 >= 0.5 and c.take_metrics()["judge_requests"] == 6


def test_identical_requests_cost_one(peer):
    p = peer(completion())
    c = client(p.url, cache_size=2)
    assert len(c.complete(["a", "a", "b"])) == 3
    c.complete(["a"])
    m = c.take_metrics()
    assert m["judge_cache_hits"] == 2 and m["judge_requests"] == 2 and len(p.arrivals) == 2


# ----------------------------------------------------------------------------- the reward


def inputs(responses, answer="46"):
    problem = Problem(id="p", prompt="12+34=?", answer=answer)
    return [RewardInput(problem, "12+34=?\n", r, Verdict(False, None, "no answer"), 5, False) for r in responses]


def judge_reward(**judge):
    """The judge reward outside a run: no policy engine (so never model=self) and no template."""
    return build_reward(RewardConfig(name="judge", judge=JudgeConfig(**judge)), RewardContext(None, None, 32))


def test_endpoint_reward_scores_counts_unparsed_and_sends_the_key_from_the_env(peer, monkeypatch):
    p = peer(completion("Looks right.\nVerdict: yes"), completion("Verdict: no"), completion("I cannot tell."))
    monkeypatch.setenv("RLVR_TEST_JUDGE_KEY", "s3cret")
    reward = judge_reward(
        url=p.url,
        served_model="judge",
        api="completions",
        rubric="correct-yn",
        concurrency=1,
        unparsed_reward=-1.0,
        api_key_env="RLVR_TEST_JUDGE_KEY",
    )
    out = reward(inputs(["46", "45", "47"]))
    reward.close()
    assert out.rewards == [1.0, 0.0, -1.0]
    assert out.metrics["judge_unparsed"] == 1 and out.metrics["judge_requests"] == 3 and out.metrics["judge_prompt_tokens"] == 33
    assert all(h["Authorization"] == "Bearer s3cret" for h in p.headers)


def test_a_dead_endpoint_stops_the_reward_instead_of_rewarding_zero():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    reward = judge_reward(url=url, served_model="judge", api="completions", backoff=0.0, retries=1, max_failures=2)
    with pytest.raises(JudgeUnavailable, match=f"{url} is unavailable.*ConnectionRefusedError"):
        reward(inputs(["46", "45", "44"]))
    reward.close()


# ----------------------------------------------------------------------------- in-process engines


def test_second_engine_judges_and_overlong_prompts_count_as_failures():
    from rlvr.generation.base import GeneratorConfig

    gen = GeneratorConfig(name="hf", max_model_len=4096)  # capped at the model's 256 positions
    reward = judge_reward(model="tiny-arith", generator=gen, api="completions", rubric="correct-yn", max_tokens=16, unparsed_reward=-1.0)
    out = reward(inputs(["12+34\n=46\nAnswer: 46", "12+34\n=45\nAnswer: 45"]))
    assert len(out.rewards) == 2 and all(r in (-1.0, 0.0, 1.0) for r in out.rewards)
    assert out.metrics["judge_requests"] == 2 and out.metrics["judge_prompt_tokens"] > 100 and out.metrics["judge_completion_tokens"] >= 2
    assert out.metrics["judge_unparsed"] + sum(r >= 0 for r in out.rewards) == 2
    reward.close()
    # score10 is ~400 tokens of the tiny tokenizer: past its 256-token context, so never sent
    reward = judge_reward(model="tiny-arith", generator=gen, api="completions", rubric="score10", max_tokens=16)
    out = reward(inputs(["46"]))
    assert out.rewards == [0.0] and out.metrics["judge_failures"] == 1 and out.metrics["judge_requests"] == 0
    reward.close()


def test_self_rewarding_train_logs_judge_costs_per_step(tmp_path):
    out = tmp_path / "rl"
    args = [
        "train",
        f"run.output_dir={out}",
        "schedule.steps=2",
        "schedule.max_seconds=0",
        "run.progress=false",
        "eval.before_after=false",
        "generator.name=hf",
        "generator.max_model_len=256",
        "rollout.prompts_per_step=2",
        "rollout.n=2",
        "rollout.max_tokens=8",
        "algorithm.dynamic_sampling=false",  # no refills: every step judges exactly 2 x 2 completions
        "learner.micro_batch_size=4",
        "reward.name=judge",
        "reward.judge.model=self",
        "reward.judge.rubric=correct-yn",
        "reward.judge.api=completions",
        "reward.judge.max_tokens=8",
    ]
    assert main(args) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        # every completion of the step (2 prompts x 2) was judged, or counted as not sent
        assert r["reward/judge_requests"] + r["reward/judge_failures"] == 4
        assert r["reward/judge_requests"] > 0 and r["reward/judge_prompt_tokens"] > 0 and r["reward/seconds"] > 0
        assert 0 <= r["reward/judge_unparsed"] <= r["reward/judge_requests"]


# ----------------------------------------------------------------------------- a real vllm serve


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """``vllm serve`` of the tiny model on a free local port, for this module; killed (its whole
    process group) at the end, even when a test or the start-up fails."""
    pytest.importorskip("vllm")
    port = free_port()
    log = tmp_path_factory.mktemp("vllm") / "serve.log"
    model = resolve_model_path("tiny-arith")
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_LOGGING_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name", "tiny"]
    cmd += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "256",
        "--dtype",
        "float32",
        "--enforce-eager",
        "--uvicorn-log-level",
        "warning",
    ]
    cmd += ["--max-num-seqs", "8", "--max-num-batched-tokens", "512"]  # a small engine: less to profile at start
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 480
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not healthy within 480 s: {log.read_text()[-2000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_client_gets_completions_from_vllm_serve(vllm_server):
    for api, request in (("completions", "12+34=?\n"), ("chat", [{"role": "user", "content": "12+34=?"}])):
        c = JudgeClient(vllm_server, "tiny", api=api, max_tokens=16, timeout=60)
        [reply] = c.complete([request])
        assert reply.text and reply.prompt_tokens > 0 and 0 < reply.completion_tokens <= 16
        c.close()


def test_judge_reward_against_vllm_serve_reports_costs_and_caches(vllm_server):
    reward = judge_reward(url=vllm_server, served_model="tiny", api="completions", rubric="correct-yn", max_tokens=16)
    batch = inputs(["12+34\n=46\nAnswer: 46", "12+34\n=45\nAnswer: 45", "12+34\n=46\nAnswer: 46"])
    first = reward(batch)
    assert len(first.rewards) == 3 and all(isinstance(r, float) for r in first.rewards)
    assert first.metrics["judge_requests"] == 2 and first.metrics["judge_cache_hits"] == 1  # the repeated response
    assert first.metrics["judge_prompt_tokens"] > 100 and first.metrics["judge_completion_tokens"] > 0
    again = reward(batch[:1])
    assert again.metrics["judge_requests"] == 0 and again.metrics["judge_cache_hits"] == 1 and again.rewards == first.rewards[:1]
    reward.close()
