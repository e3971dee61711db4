"""The one atomic writer: whole files or the old file, the umask's mode, no temporary left behind."""

from __future__ import annotations

import os
import stat

import pytest

from papi_research.data.files import atomic_write_bytes, atomic_write_text, file_mode


def test_writes_whole_file_with_the_umask_mode(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "briefing.html", "Sơn La: 40,14/80\n")
    assert path.read_text(encoding="utf-8") == "Sơn La: 40,14/80\n"
    assert stat.S_IMODE(path.stat().st_mode) == file_mode()
    assert file_mode() == 0o666 & ~_umask()
    assert sorted(p.name for p in path.parent.iterdir()) == ["briefing.html"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / "manifest.json", b'{"runs": []}')

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(path, b'{"runs": [1]}')
    assert path.read_bytes() == b'{"runs": []}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
