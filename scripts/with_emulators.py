"""Run a command with the test emulators up: `python scripts/with_emulators.py pytest ...`.

Starts Azurite and cosmosdb-server on free loopback ports, exports their addresses as TEST_*
variables, runs the command, stops the emulators (bounded) and exits with the command's status."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.emulators import Emulators  # noqa: E402


def main(argv: list[str]) -> int:
    emulators = Emulators()
    env = {**os.environ, **emulators.start()}
    child = subprocess.Popen(argv, env=env)

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    finally:
        emulators.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
