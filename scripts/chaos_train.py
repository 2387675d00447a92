#!/usr/bin/env python
"""Fault injection: a short real run is killed, corrupted, starved of disk and doubled, and must
come back every time with nothing lost.

    python scripts/chaos_train.py [--stage train|pretrain] [--faults 24] [--steps 10] [--seed 0]
                                  [--kinds kill,kill_mid_checkpoint,...] [--work DIR] [--tmpfs-mb 512]

A *cycle* is one run of ``--steps`` steps into a fresh directory (``--resume=auto`` every start).
Faults are injected into it one episode at a time until the run completes; cycles repeat until
``--faults`` faults were tried. The faults (``FAULTS``):

- ``kill``: SIGKILL at a random moment of training (every part of a step: generation, update,
  weight sync, logging; an outside process cannot see the sync itself, so "mid-sync" is one of the
  random moments rather than a targeted one);
- ``kill_mid_checkpoint``: SIGKILL as soon as a checkpoint's staging directory appears (the table
  counts how many kills found it still there, i.e. really interrupted the write);
- ``corrupt``: damage the newest good checkpoint (1 MiB of 0xFF into the weights, a truncated
  optimizer or trainer-state file, or a deleted manifest); the next start must name it and fall back;
- ``disk_full``: fill the file system (a tmpfs mounted for the run; root only, otherwise this fault
  is not run and the report says so) and start: one clear line, exit 2, nothing of before damaged,
  no staging left behind; then free the space;
- ``second_run``: while a run trains (held with SIGSTOP so it is certainly alive), start a second
  one into the same directory (with --resume, without, or with run.overwrite=true): it must be
  refused by the lock and the first run's files must be untouched.

After every episode: no good checkpoint that existed before was lost (missing or damaged, other than
the one corrupted on purpose, and other than by rotation under ``run.keep_checkpoints`` newer good
ones), a checkpoint rewritten at the same step holds bitwise the same weights as before, and the
metrics are consecutive steps from 1. At the end of a cycle: the final weights equal an
uninterrupted reference run's bitwise, and the metrics hold every step exactly once.

Prints a table of faults tried / survived / lost on stderr and ONE JSON line on stdout. Exit 0 when
every fault was survived with nothing lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rlvr.io import read_jsonl  # noqa: E402
from rlvr.training.checkpoint import MANIFEST, verify  # noqa: E402

KEEP = 3  # run.keep_checkpoints: small enough that rotation runs during the chaos
MAX_MISSES = 6  # attempts at a fault that the run outpaces before it is given up

# ----------------------------------------------------------------------------- stages


def _train_args(work: Path) -> list[str]:
    """The bundled tiny model on eight fixed problems: CPU generation with transformers, a torch
    learner, a checkpoint every step. A start takes seconds; a step well under one."""
    data = work / "problems.jsonl"
    rows = [
        {"uid": f"q{i}", "problem": f"{a}+{b}-{c}=?", "final": str(a + b - c)}
        for i, (a, b, c) in enumerate([(12, 30, 5), (7, 8, 9), (40, 2, 11), (3, 3, 3), (25, 25, 10), (9, 1, 4), (5, 6, 7), (20, 3, 1)])
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [
        "train",
        "model.path=tiny-arith",
        "generator.name=hf",
        "learner.backend=torch",
        "data.name=jsonl",
        f"data.path={data}",
        "data.question_field=problem",
        "data.answer_field=final",
        "data.id_field=uid",
        "data.options={}",
        "rollout.prompts_per_step=2",
        "rollout.n=4",
        "rollout.max_tokens=16",
        "verifier.workers=1",
        "learner.micro_batch_size=8",
        "eval.before_after=false",
        "schedule.max_seconds=0",
        "algorithm.dynamic_sampling=false",
        "optim.warmup_steps=0",
    ]


def _pretrain_args(work: Path) -> list[str]:
    """A one-layer model built from scratch on a small arithmetic corpus: the fastest real run."""
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(f"{a}+{b}={a + b}\nAnswer: {a + b}\n" for a in range(30) for b in range(0, 30, 3)))
    return [
        "pretrain",
        f"data.path={corpus}",
        "schedule.eval_every=0",
        "model.tiny.hidden_size=64",
        "model.tiny.num_heads=2",
        "model.tiny.num_kv_heads=2",
        "model.tiny.num_layers=1",
        "model.tiny.intermediate_size=64",
        "model.tiny.max_position_embeddings=64",
        "model.tokenizer.vocab_size=300",
        "data.seq_len=32",
        "schedule.batch_size=4",
        "learner.micro_batch_size=2",
        "learner.backend=torch",
    ]


STAGES: dict[str, Callable[[Path], list[str]]] = {"train": _train_args, "pretrain": _pretrain_args}

# ----------------------------------------------------------------------------- the run under test


@dataclass
class Chaos:
    args: argparse.Namespace
    base: list[str]  # the stage's command-line arguments
    logs: Path
    fs: Path | None  # a mounted tmpfs (disk_full needs one)
    rng: random.Random
    out: Path = Path()
    launches: int = 0
    notes: list[str] = field(default_factory=list)
    live: set[subprocess.Popen] = field(default_factory=set)  # killed if the chaos itself is interrupted

    def command(self, out: Path, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "rlvr.cli",
            *self.base,
            f"run.output_dir={out}",
            f"schedule.steps={self.args.steps}",
            "run.save_every=1",
            f"run.keep_checkpoints={KEEP}",
            "run.progress=false",
            f"run.seed={self.args.seed}",
            *extra,
        ]

    def start(self, *extra: str, out: Path | None = None) -> subprocess.Popen:
        self.launches += 1
        log = self.logs / f"{self.launches:03d}"
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
            proc = subprocess.Popen(self.command(out or self.out, *extra), cwd=REPO, env=env, stdout=stdout, stderr=stderr)
        proc.stderr_path = Path(f"{log}.err")  # type: ignore[attr-defined]
        self.live.add(proc)
        return proc

    def stderr(self, proc: subprocess.Popen) -> str:
        return proc.stderr_path.read_text(errors="replace")  # type: ignore[attr-defined]

    def finish(self, proc: subprocess.Popen, timeout: float = 600) -> int:
        rc = proc.wait(timeout)
        self.live.discard(proc)
        return rc

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        self.finish(proc)

    def logged_steps(self) -> list[int]:
        return [r["step"] for r in read_jsonl(self.out / "metrics.jsonl")]

    def wait_training(self, proc: subprocess.Popen) -> bool:
        """Block until ``proc`` logs a step (True) or exits first (False)."""
        seen = len(self.logged_steps())
        while proc.poll() is None:
            if len(self.logged_steps()) > seen:
                return True
            time.sleep(0.05)
        return False


def checkpoints(out: Path) -> dict[int, str | None]:
    """step -> sha256 of the weights for each good checkpoint (None: present but not good)."""
    found: dict[int, str | None] = {}
    for path in sorted((out / "checkpoints").glob("step_*")):
        good = verify(path) is None
        manifest = json.loads((path / MANIFEST).read_text()) if good else {}
        found[int(path.name[5:])] = manifest["files"]["model/model.safetensors"]["sha256"] if good else None
    return found


# ----------------------------------------------------------------------------- faults
# A fault that was not survived raises Failed.


class Failed(Exception):
    pass


@dataclass
class Outcome:
    injected: bool  # False: the run finished (or had nothing to damage) before the fault could be injected
    completed: bool  # the run reached its last step during the episode
    detail: str


def _finished(chaos: Chaos, proc: subprocess.Popen, what: str) -> Outcome:
    rc = chaos.finish(proc)
    if rc != 0:
        raise Failed(f"the run exited {rc}: {chaos.stderr(proc).strip().splitlines()[-1:]}")
    return Outcome(False, True, f"finished before {what}")


def fault_kill(chaos: Chaos) -> Outcome:
    proc = chaos.start("--resume=auto")
    if not chaos.wait_training(proc):
        return _finished(chaos, proc, "the kill")
    delay = chaos.rng.uniform(0, 1.5)
    time.sleep(delay)
    if proc.poll() is not None:
        return _finished(chaos, proc, "the kill")
    chaos.kill(proc)
    return Outcome(True, False, f"killed {delay:.2f}s after a logged step")


def _staging(directory: Path) -> bool:
    try:
        return any(name.startswith(".step_") for name in os.listdir(directory))
    except FileNotFoundError:
        return False


def fault_kill_mid_checkpoint(chaos: Chaos) -> Outcome:
    proc = chaos.start("--resume=auto")
    staging = chaos.out / "checkpoints"
    while proc.poll() is None:
        if _staging(staging):
            time.sleep(chaos.rng.uniform(0, 0.02))
            proc.send_signal(signal.SIGKILL)
            inside = _staging(staging)
            chaos.finish(proc)
            return Outcome(True, False, "killed inside a checkpoint write" if inside else "killed just after a checkpoint write")
        time.sleep(0.001)
    return _finished(chaos, proc, "a checkpoint write was seen")


def _flip(path: Path) -> None:
    with open(path, "r+b") as f:
        f.seek(min(4096, path.stat().st_size // 4))
        f.write(b"\xff" * min(1 << 20, path.stat().st_size // 2))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "1 MiB of 0xFF in the weights": lambda c: _flip(c / "model" / "model.safetensors"),
    "truncated optimizer state": lambda c: _truncate(c / "optimizer_rank0.pt"),
    "truncated trainer state": lambda c: _truncate(c / "trainer_state.json"),
    "deleted manifest": lambda c: (c / MANIFEST).unlink(),
}


def fault_corrupt(chaos: Chaos) -> Outcome:
    good = [s for s, sha in checkpoints(chaos.out).items() if sha]
    if not good:
        out = fault_kill(chaos)  # nothing to corrupt yet: make progress first
        return Outcome(False, out.completed, f"no checkpoint to corrupt yet; {out.detail}")
    target = chaos.out / "checkpoints" / f"step_{max(good):06d}"
    how = chaos.rng.choice(sorted(DAMAGE))
    DAMAGE[how](target)
    proc = chaos.start("--resume=auto")
    training = chaos.wait_training(proc)
    if f"checkpoint {target} is damaged" not in chaos.stderr(proc):
        chaos.kill(proc)
        raise Failed(f"{how} in {target.name} was not reported on resume")
    detail = f"{how} in {target.name}: named and skipped"
    if training:
        time.sleep(chaos.rng.uniform(0, 1.0))
    if proc.poll() is None:
        chaos.kill(proc)
        return Outcome(True, False, detail)
    return Outcome(True, _finished(chaos, proc, "").completed, detail)


def fault_disk_full(chaos: Chaos) -> Outcome:
    assert chaos.fs is not None
    filler = chaos.fs / "filler"
    stat = os.statvfs(chaos.fs)
    # room for part of a checkpoint: the run gets going, then fails at some point of a write
    ckpts = sorted((chaos.out / "checkpoints").glob("step_*"))
    size = sum(f.stat().st_size for f in ckpts[-1].rglob("*") if f.is_file()) if ckpts else 1 << 20
    leave = int(size * chaos.rng.uniform(0.05, 0.95))
    with open(filler, "wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        todo = stat.f_bavail * stat.f_frsize - leave
        while todo > 0:
            f.write(chunk[: min(todo, len(chunk))])
            todo -= len(chunk)
    before = checkpoints(chaos.out)
    try:
        proc = chaos.start("--resume=auto")
        rc = chaos.finish(proc)
        err = chaos.stderr(proc).strip().splitlines()
    finally:
        filler.unlink()
    if rc == 0:
        return Outcome(False, True, f"{leave / 2**20:.1f} MiB left was enough to finish")
    last = err[-1] if err else ""
    if rc != 2 or "disk full" not in last or any("Traceback" in line for line in err):
        raise Failed(f"disk full gave exit {rc} and {last!r}")
    leftovers = [p.name for d in (chaos.out, chaos.out / "checkpoints") for p in d.glob(".*.tmp")]
    if leftovers:
        raise Failed(f"a full disk left {leftovers} behind")
    after = checkpoints(chaos.out)
    if any(after.get(s) != sha for s, sha in before.items() if sha):
        raise Failed("a full disk damaged a checkpoint that was there before")
    return Outcome(True, False, f"{leave / 2**20:.1f} MiB free: {last.split('error: ', 1)[-1][:100]}")


SECOND_RUN = {"with --resume": ["--resume"], "without --resume": [], "with run.overwrite=true": ["run.overwrite=true"]}


def fault_second_run(chaos: Chaos) -> Outcome:
    first = chaos.start("--resume=auto")
    if not chaos.wait_training(first):
        return _finished(chaos, first, "the second run started")
    first.send_signal(signal.SIGSTOP)  # certainly alive, and not writing, while the second one starts
    before = checkpoints(chaos.out)
    how = chaos.rng.choice(sorted(SECOND_RUN))
    second = chaos.start(*SECOND_RUN[how])
    rc = chaos.finish(second)
    err = chaos.stderr(second).strip().splitlines()
    after = checkpoints(chaos.out)
    first.send_signal(signal.SIGCONT)
    if rc != 2 or not err or "in use by another run" not in err[-1]:
        chaos.kill(first)
        raise Failed(f"a second run {how} exited {rc}: {err[-1:]}")
    if after != before:
        chaos.kill(first)
        raise Failed(f"a second run {how} changed the first one's checkpoints")
    detail = f"second run {how} refused by the lock"
    time.sleep(chaos.rng.uniform(0, 1.0))
    if first.poll() is None:
        chaos.kill(first)
        return Outcome(True, False, detail)
    return Outcome(True, _finished(chaos, first, "").completed, detail)


FAULTS: dict[str, Callable[[Chaos], Outcome]] = {
    "kill": fault_kill,
    "kill_mid_checkpoint": fault_kill_mid_checkpoint,
    "corrupt": fault_corrupt,
    "disk_full": fault_disk_full,
    "second_run": fault_second_run,
}

# ----------------------------------------------------------------------------- checks


def lost_checkpoints(before: dict[int, str | None], after: dict[int, str | None], spared: int | None) -> list[str]:
    """Good checkpoints of ``before`` missing or different in ``after``, other than ``spared`` (the
    one corrupted on purpose, which must come back identical if it is rewritten) and those rotation
    may delete (at least KEEP good ones newer)."""
    lost = []
    for step, sha in before.items():
        if not sha:
            continue
        now = after.get(step)
        if now == sha or (step == spared and now is None):
            continue
        newer_good = sum(1 for s, h in after.items() if s > step and h)
        if now is None and step not in after and newer_good >= KEEP:
            continue
        lost.append(f"step_{step:06d} ({'missing' if step not in after else 'damaged' if now is None else 'rewritten differently'})")
    return lost


def final_weights_equal(a: Path, b: Path) -> bool:
    import torch
    from safetensors.torch import load_file

    x, y = load_file(a / "final" / "model.safetensors"), load_file(b / "final" / "model.safetensors")
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def mount_tmpfs(point: Path, megabytes: int) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(point)], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stage", choices=sorted(STAGES), default="train")
    p.add_argument("--faults", type=int, default=24, help="faults to inject in all")
    p.add_argument("--steps", type=int, default=10, help="steps of each run")
    p.add_argument("--seed", type=int, default=0, help="seeds the runs and the choice and timing of faults")
    p.add_argument("--kinds", default=",".join(FAULTS), help=f"comma-separated faults to cycle through ({', '.join(FAULTS)})")
    p.add_argument("--work", help="working directory (default: a temporary one, removed at the end)")
    p.add_argument("--tmpfs-mb", type=int, default=512, help="size of the tmpfs the chaos runs write to (disk_full)")
    args = p.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown:
        p.error(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    work = Path(args.work or tempfile.mkdtemp(prefix="rlvr-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    fs = work / "fs"
    mounted = "disk_full" in kinds and mount_tmpfs(fs, args.tmpfs_mb)
    chaos = Chaos(args, STAGES[args.stage](work), work / "logs", fs if mounted else None, random.Random(args.seed))
    if "disk_full" in kinds and not mounted:
        kinds.remove("disk_full")
        chaos.notes.append("disk_full not run: mounting a tmpfs needs root (no simulated ENOSPC is substituted)")
    signal.signal(signal.SIGTERM, _interrupt)  # a time limit still gets the table of what was done
    t0 = time.time()
    tried, survived, lost_by, missed = Counter(), Counter(), Counter(), Counter()
    failures: list[str] = []
    cycles = identical = 0
    try:
        ref = work / "reference"
        shutil.rmtree(ref, ignore_errors=True)
        proc = chaos.start(out=ref)
        if chaos.finish(proc) != 0:
            print(chaos.stderr(proc), file=sys.stderr)
            raise SystemExit("chaos: the uninterrupted reference run failed")
        ref_steps = [r["step"] for r in read_jsonl(ref / "metrics.jsonl")]
        schedule = [kinds[i % len(kinds)] for i in range(args.faults)]
        chaos.rng.shuffle(schedule)
        while schedule:
            cycles += 1
            chaos.out = (fs if mounted else work) / f"run{cycles}"
            done = broken = False
            while not done and schedule:
                kind = schedule[-1]
                before = checkpoints(chaos.out)
                spared = max((s for s, h in before.items() if h), default=None) if kind == "corrupt" else None
                try:
                    outcome = FAULTS[kind](chaos)
                except Failed as e:
                    schedule.pop()
                    tried[kind] += 1
                    failures.append(f"{kind}: {e}")
                    print(f"  cycle {cycles} {kind:20s} FAILED: {e}", file=sys.stderr)
                    done = broken = True  # this directory's state is suspect: the next fault gets a fresh run
                    continue
                done = outcome.completed
                if not outcome.injected:  # the run moved on without it: try it again, a few times
                    print(f"  cycle {cycles} {kind:20s} not injected: {outcome.detail}", file=sys.stderr)
                    missed[kind] += 1
                    if missed[kind] == MAX_MISSES:
                        chaos.notes.append(f"{kind}: could not be injected {MAX_MISSES} times (the run is too quick for it); given up")
                        schedule = [k for k in schedule if k != kind]
                    continue
                schedule.pop()
                tried[kind] += 1
                lost = lost_checkpoints(before, checkpoints(chaos.out), spared)
                steps = chaos.logged_steps()
                if steps != list(range(1, len(steps) + 1)):
                    lost.append(f"metrics not consecutive: {steps}")
                if lost:
                    lost_by[kind] += 1
                    failures.append(f"{kind}: lost {lost}")
                else:
                    survived[kind] += 1
                print(f"  cycle {cycles} {kind:20s} {'LOST ' + str(lost) if lost else 'ok'}: {outcome.detail}", file=sys.stderr)
            if broken:
                continue
            if not done:  # the last fault left the run unfinished: finish it
                proc = chaos.start("--resume=auto")
                if chaos.finish(proc) != 0:
                    failures.append(f"cycle {cycles}: the final resume failed: {chaos.stderr(proc).strip().splitlines()[-1:]}")
                    continue
            steps = chaos.logged_steps()
            if steps != ref_steps:
                failures.append(f"cycle {cycles}: metrics steps {steps} != {ref_steps}")
            elif not final_weights_equal(chaos.out, ref):
                failures.append(f"cycle {cycles}: final weights differ from the uninterrupted run's")
            else:
                identical += 1
            if mounted:
                shutil.rmtree(chaos.out, ignore_errors=True)  # room for the next cycle on the tmpfs
    except KeyboardInterrupt:
        failures.append(f"interrupted after {sum(tried.values())} of {args.faults} faults; the last cycle was not compared")
    finally:
        for proc in chaos.live:
            proc.kill()
            proc.wait()
        if mounted:
            subprocess.run(["umount", "--lazy", str(fs)], capture_output=True)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    total_tried, total_survived, total_lost = sum(tried.values()), sum(survived.values()), sum(lost_by.values())
    print(f"\n{'fault':22s} {'tried':>6s} {'survived':>9s} {'lost':>5s}", file=sys.stderr)
    for kind in FAULTS:
        if tried[kind]:
            print(f"{kind:22s} {tried[kind]:6d} {survived[kind]:9d} {lost_by[kind]:5d}", file=sys.stderr)
    print(f"{'total':22s} {total_tried:6d} {total_survived:9d} {total_lost:5d}", file=sys.stderr)
    print(
        f"cycles {cycles}, final weights bitwise equal to the uninterrupted run in {identical}, {chaos.launches} launches, {time.time() - t0:.0f}s",
        file=sys.stderr,
    )
    for line in chaos.notes + failures:
        print(f"note: {line}", file=sys.stderr)
    print(
        json.dumps(
            {
                "stage": args.stage,
                "faults_tried": total_tried,
                "survived": total_survived,
                "lost": total_lost,
                "by_fault": {k: {"tried": tried[k], "survived": survived[k], "lost": lost_by[k]} for k in FAULTS if tried[k]},
                "cycles": cycles,
                "final_identical_cycles": identical,
                "failures": failures,
                "notes": chaos.notes,
                "seconds": round(time.time() - t0, 1),
            }
        )
    )
    return 0 if total_survived == total_tried and not failures and identical == cycles else 1


if __name__ == "__main__":
    sys.exit(main())
