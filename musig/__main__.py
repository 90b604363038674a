"""``python -m musig``: the command line, in a process whose heap does not fragment."""

import os
import sys

from musig.heap import heap_env

if __name__ == "__main__":
    env = heap_env(os.environ)
    if env is not None:  # glibc reads its tunables at start only: start again with them
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    from musig.cli import main

    raise SystemExit(main())
