"""The lock that keeps a second `pbx run` off an ARI application another one holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pbx_stasis.cli.app_lock import AppInUse, AppLock


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    first = AppLock("http://127.0.0.1:8088/ari", "pbx", tmp_path)
    first.acquire()
    second = AppLock("http://127.0.0.1:8088/ari/", "pbx", tmp_path)
    with pytest.raises(AppInUse, match=rf"pid {os.getpid()}\) holds the ARI application 'pbx'"):
        second.acquire()
    first.release()
    second.acquire()  # released: free again
    second.release()


def test_other_apps_and_other_asterisks_have_their_own_lock(tmp_path: Path) -> None:
    held = AppLock("http://127.0.0.1:8088/ari", "pbx", tmp_path)
    held.acquire()
    for url, app in (("http://127.0.0.1:8088/ari", "other"), ("http://10.0.0.2:8088/ari", "pbx")):
        lock = AppLock(url, app, tmp_path)
        lock.acquire()
        lock.release()
    held.release()


def test_a_lock_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    lock = AppLock("http://127.0.0.1:8088/ari", "pbx", tmp_path / "missing-dir")
    with pytest.raises(AppInUse, match="cannot open the lock of the ARI application 'pbx'"):
        lock.acquire()
