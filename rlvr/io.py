"""Files written so that a crash or a full disk never leaves a half-written one behind.

Every artefact a run produces (configs, checkpoints, summaries) goes through :func:`atomic_write`:
write to a temporary file in the same directory, fsync, then ``os.replace``. A reader sees the old
file or the new one, never a torn one. A full disk or a read-only directory becomes an
:class:`RlvrError` naming the path, whichever library raised it (:func:`write_error`).

Every temporary name starts with a dot and ends in ``.tmp`` (or ``.old`` for the previous version
of a directory being replaced), so :func:`clean_staging` can find what a killed process left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError

# Free space below which a failed write is blamed on a full disk even when the library that failed
# lost the errno (torch.save raises a bare RuntimeError, safetensors its own error type).
_NEARLY_FULL = 1 << 20
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def disk_full(e: BaseException, path: str | Path) -> bool:
    """Whether ``e``, raised while writing under ``path``, means the disk is full."""
    for exc in (e, e.__cause__, e.__context__):
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
    if "No space left on device" in str(e) or "os error 28" in str(e):
        return True
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < _NEARLY_FULL
    except OSError:
        return False


def write_error(e: BaseException, path: str | Path, intact: str = "the previous version is intact") -> RlvrError | None:
    """The one-line error for a failed write under ``path`` (full disk, read-only or unwritable
    directory, any other OS error), or None when ``e`` is not about the file system (a bug, which
    keeps its traceback)."""
    if isinstance(e, RlvrError):
        return e
    if disk_full(e, path):
        return RlvrError(f"disk full while writing {path}; {intact}; free some space and continue with --resume")
    if isinstance(e, OSError):
        if e.errno in _READ_ONLY:
            return RlvrError(f"cannot write {path}: {e.strerror} (the output directory must be writable)")
        return RlvrError(f"cannot write {path}: {e.strerror or e}")
    return None


def _read_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; set it straight back
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: setting it later could race a thread creating a file


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    tmp_path: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            # mkstemp makes the file private (0600); the result should have the mode any file the
            # user writes gets (0644 under the usual umask), or a summary or a pairs file written
            # for a colleague would be unreadable to them.
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException as e:
        err = write_error(e, path) if isinstance(e, Exception) else None  # before the unlink frees space
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        if err is None or err is e:
            raise
        raise err from e


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp_path)`` and move the result over ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def staging_dir(path: str | Path) -> Path:
    """Where a directory is assembled before :func:`publish_dir` moves it to ``path``.

    A fixed name (not a random one) so that every rank of a multi-process job writes its part
    into the same place; only rank 0 publishes.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


@contextlib.contextmanager
def staged_dir(path: str | Path, publish: bool = True) -> Iterator[Path]:
    """Yield the staging directory of ``path``; when the block succeeds, publish it (only where
    ``publish``: the rank that writes). A failed write removes the staging directory, so a full
    disk stays no fuller than before, and becomes one line naming ``path``."""
    staged = staging_dir(path)
    try:
        yield staged
    except BaseException as e:
        err = write_error(e, path) if isinstance(e, Exception) else None  # before the removal frees space
        shutil.rmtree(staged, ignore_errors=True)
        if err is None or err is e:
            raise
        raise err from e
    if publish:
        publish_dir(path)


def clean_staging(directory: str | Path) -> list[str]:
    """Remove what a killed writer left in ``directory`` (names of what was cleaned, for a notice).

    Staging directories and temporary files (``.*.tmp``) are partial by construction and go. A
    ``.NAME.old`` is the previous version of ``NAME`` moved aside by :func:`publish_dir`: if the
    crash came before the new version was moved in, the old one is put back.
    """
    directory = Path(directory)
    cleaned = []
    if not directory.is_dir():
        return cleaned
    for leftover in sorted(directory.glob(".*.old")):
        target = directory / leftover.name[1 : -len(".old")]
        if target.exists():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            os.replace(leftover, target)
        cleaned.append(leftover.name)
    for leftover in sorted(directory.glob(".*.tmp")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        cleaned.append(leftover.name)
    return cleaned


def publish_dir(path: str | Path) -> None:
    """Move the fully written staging directory of ``path`` into place (fsynced first).

    A directory either exists complete or not at all: a crash or a full disk before the final
    rename leaves the previous version of ``path`` in place.
    """
    path = Path(path)
    staged = staging_dir(path)
    if not staged.is_dir():
        raise RlvrError(f"nothing was written to {staged}")
    try:
        for root, _, files in os.walk(staged):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    os.fsync(f.fileno())
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            os.replace(path, old)
        os.replace(staged, path)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        raise write_error(e, path) from e


class JsonlWriter:
    """Append-only JSONL (metrics, samples): one flushed line per record, so a crash loses at most one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - the writer holds it open until close()
        except OSError as e:
            raise write_error(e, self.path) from e

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._f.write(json.dumps(record, default=_json_default) + "\n")
            self._f.flush()
        except OSError as e:
            raise write_error(e, self.path, "the lines before it are intact") from e

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def iter_jsonl_objects(path: Path, errors: str = "strict") -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a user's JSONL file; invalid JSON is an
    :class:`RlvrError` naming ``file:line``. (Dataset files have their own reader with a skip mode:
    :mod:`rlvr.data.files`.)"""
    with open(path, encoding="utf-8", errors=errors) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError as e:
                raise RlvrError(f"{path}:{i}: not valid JSON ({e.msg})") from None


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file written by :class:`JsonlWriter`, ignoring a torn last line from a crash."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break  # the line being written when the process died
            raise RlvrError(f"{path}:{i + 1}: not valid JSON") from None
    return rows
