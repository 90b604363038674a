import os
import runpy
import subprocess
import sys

import pytest

from musig.heap import TUNABLES, heap_env

pytestmark = pytest.mark.skipif(
    not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"), reason="glibc only"
)


def test_heap_env_adds_the_tunables_and_keeps_the_rest():
    assert heap_env({"A": "1"}) == {"A": "1", "GLIBC_TUNABLES": TUNABLES}
    mine = {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}
    assert heap_env(mine)["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{TUNABLES}"
    assert heap_env({"GLIBC_TUNABLES": "glibc.malloc.tcache_count=7"}) is None  # user's choice


def test_python_m_musig_restarts_itself_once_with_the_tunables(monkeypatch):
    calls = []

    def execve(path, args, env):
        calls.append((path, args, env))
        raise SystemExit(0)  # instead of replacing the test process

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    with pytest.raises(SystemExit):
        runpy.run_module("musig", run_name="__main__")
    ((path, args, env),) = calls
    assert path == sys.executable and args == [sys.executable, *sys.orig_argv[1:]]
    assert env["GLIBC_TUNABLES"] == TUNABLES
    # Started again with them, it runs the command.
    done = subprocess.run(
        [sys.executable, "-m", "musig", "--help"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and "usage: python -m musig" in done.stdout
