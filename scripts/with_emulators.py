"""Run a command with one set of test emulators per pytest-xdist worker:
`python scripts/with_emulators.py --sets N pytest -n N ...` (what `make test` runs).

The `azure` family empties the shared blob containers and queues at every test, so two workers must
never share emulators. Set k (Azurite and cosmosdb-server on free loopback ports) is exported as
TEST_*_GW{k}; worker gw{k} takes its own in the session fixture of tests/conftest.py, and a run
without xdist takes GW0. A worker with no set here (more workers than sets) starts one of its own.

The emulators belong to this process, not to pytest: they are stopped (bounded) when the command
ends however it ends (failure, Ctrl-C, SIGTERM forwarded to the command), and this script exits
with the command's status."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.emulators import Emulators, for_worker  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1, help="emulator sets to start, one per xdist worker")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("no command given")
    started: list[Emulators] = []
    try:
        env = dict(os.environ)
        for k in range(args.sets):
            emulators = Emulators()
            started.append(emulators)
            env.update(for_worker(emulators.start(), f"gw{k}"))
        child = subprocess.Popen(args.command, env=env)

        def forward(signum, _frame):
            child.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        return child.wait()
    finally:
        for emulators in started:
            emulators.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
