"""Files written atomically get the mode of any file the user writes, not mkstemp's private 0600."""

import os
import stat

from rlvr.io import atomic_write_json, atomic_write_text


def test_atomic_writes_follow_the_umask(tmp_path):
    mask = os.umask(0o022)
    try:
        import importlib

        import rlvr.io

        importlib.reload(rlvr.io)  # the umask is read at import
        rlvr.io.atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    finally:
        os.umask(mask)
        importlib.reload(rlvr.io)
    atomic_write_json(tmp_path / "b.json", {"a": 1})
    atomic_write_text(tmp_path / "c.txt", "y")
    for name in ("b.json", "c.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask
