"""Child processes for the resume and worker tests: started so that they are always reaped, polled
with deadlines instead of fixed sleeps.

Run as ``python -m tests.provisioning.processes hold-lock DATABASE_URL NAME``, it takes a job lock,
says ``won`` (or ``lost``) on stdout and holds the lock until its stdin closes: a stand-in for a run
that can be killed at will.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.02) -> T:
    """Polls ``check`` until it returns something truthy; fails naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def read_line(process: subprocess.Popen[str], *, timeout: float, what: str) -> str:
    """The next line ``process`` writes to its stdout pipe, waiting at most ``timeout`` s."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
    return process.stdout.readline().strip()


def stop(process: subprocess.Popen[Any], *, grace: float = 10.0) -> None:
    """Asks ``process`` to stop (SIGTERM), kills it if it has not after ``grace`` s, and reaps it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


@contextmanager
def started(args: list[str], *, env: dict[str, str] | None = None, grace: float = 10.0,
            **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """A child process that is stopped and reaped when the block ends, however it ends."""
    process = subprocess.Popen(args, env=env, cwd=popen.pop("cwd", ROOT), **popen)
    try:
        yield process
    finally:
        stop(process, grace=grace)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def child_env(**extra: str) -> dict[str, str]:
    """This environment without any ``CADRE_*`` setting of the developer's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADRE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def fake_is_quiet(threads: Callable[[], list[threading.Thread]] = threading.enumerate) -> bool:
    """True when no request of a (killed) client is still being served by an in-process fake."""
    return not any(t.name.endswith("(process_request_thread)") and t.is_alive() for t in threads())


def _hold_lock(database_url: str, name: str) -> int:
    from plugin_service.services.platform.locks import LockedError, job_lock

    try:
        with job_lock(database_url, name):
            print("won", flush=True)
            sys.stdin.read()  # hold until the parent closes our stdin (or kills us)
    except LockedError:
        print("lost", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold-lock"] and len(sys.argv) == 4:
        sys.exit(_hold_lock(sys.argv[2], sys.argv[3]))
    sys.exit(f"usage: {sys.argv[0]} hold-lock DATABASE_URL NAME")
