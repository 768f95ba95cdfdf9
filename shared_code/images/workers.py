"""Which worker holds an upload's claim, and whether it is known to be dead (images/incoming.py):
host, pid and a token of this process's start, so a pid reused after a restart is another worker."""
from __future__ import annotations

import os
import secrets
import socket

_HOST = socket.gethostname()
_START = secrets.token_hex(6)  # this process's start: a pid reused by a restart is another worker


def current_worker() -> str:
    return f"{_HOST}:{os.getpid()}:{_START}"


def worker_is_dead(worker: str | None) -> bool:
    """Known dead: a worker of this host whose process is gone or was restarted. Unknown: alive."""
    host, _, rest = (worker or "").partition(":")
    pid, _, start = rest.partition(":")
    if host != _HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return start != _START
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
