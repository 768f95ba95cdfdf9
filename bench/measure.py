"""How sections 2 and 6 measure: one keep-alive client, every target and its baseline on one server,
in interleaved rounds.

Each round runs every target in turn (the order rotated each round, so no target always follows the
same one): a warm-up that is not counted, then requests for a fixed time, each timed. A target's
ratio is taken per round against the baseline measured in that same round; what is printed is the
median over the rounds, with the lowest and highest round next to it (the machine's noise), and
the median p99 latency with its ratio to the baseline's p99. With the server's pid, also the server's
CPU time per request (user + system, from /proc): on a machine shared with other work the rates
move with the neighbours' load, the CPU a request costs much less."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

ROUNDS = 5
SECONDS = 1.5
WARMUP = 0.3
# What the last compare() ran, so header() prints the rounds, seconds and warm-up actually measured
# (a caller passing rounds= or seconds= would otherwise be told the defaults).
_last = {"rounds": ROUNDS, "seconds": SECONDS, "warmup": WARMUP}


@dataclass
class Result:
    rate: float  # requests per second, median over rounds
    ratio: float  # over the baseline, median of the per-round ratios
    low: float
    high: float
    p99_ms: float  # median of the per-round p99s
    p99_ratio: float  # median of the per-round p99 / baseline p99
    cpu_ms: float | None = None  # the server's CPU time per request, median over rounds


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _run(client, path: str, headers, seconds: float, pid: int | None = None) -> tuple[float, float, float]:
    latencies = []
    cpu = _cpu_seconds(pid)
    started = time.perf_counter()
    while True:
        t = time.perf_counter()
        if t - started >= seconds:
            break
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise AssertionError(f"GET {path}: {response.status_code} {response.text[:200]}")
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, _p99(latencies), (_cpu_seconds(pid) - cpu) / len(latencies)


def compare(client, targets: dict[str, tuple[str, dict | None]], baseline: str | dict[str, str], *,
            rounds: int = ROUNDS, seconds: float = SECONDS, warmup: float = WARMUP,
            pid: int | dict[str, int] | None = None) -> dict[str, Result]:
    """`targets`: name -> (path, headers); `baseline`: the target every other is compared with, or
    each target's own (name -> baseline name; a target not named is its own); `pid`: the server's
    process (or each target's, by name), for its CPU time. Every response must be 200."""
    def base(name: str) -> str:
        return baseline if isinstance(baseline, str) else baseline.get(name, name)

    _last.update(rounds=rounds, seconds=seconds, warmup=warmup)
    names = list(targets)
    rates: dict[str, list[float]] = {n: [] for n in names}
    p99s: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            path, headers = targets[name]
            _run(client, path, headers, warmup)
            rate, p99, cpu = _run(client, path, headers, seconds, pid.get(name) if isinstance(pid, dict) else pid)
            rates[name].append(rate)
            p99s[name].append(p99)
            cpus[name].append(cpu)
    results = {}
    for name in names:
        ratios = [a / b for a, b in zip(rates[name], rates[base(name)])]
        p99_ratios = [a / b for a, b in zip(p99s[name], p99s[base(name)])]
        results[name] = Result(statistics.median(rates[name]), statistics.median(ratios), min(ratios), max(ratios),
                               statistics.median(p99s[name]) * 1000, statistics.median(p99_ratios),
                               statistics.median(cpus[name]) * 1000 if pid is not None else None)
    return results


def line(label: str, result: Result, width: int = 44) -> str:
    cpu = f"   {result.cpu_ms:5.2f} ms" if result.cpu_ms is not None else ""
    return (f"   {label:<{width}} {result.rate:7.0f} /s  {result.ratio:5.2f}x ({result.low:4.2f}-{result.high:4.2f})"
            f"   p99 {result.p99_ms:6.2f} ms {result.p99_ratio:5.2f}x{cpu}")


def header(width: int = 44, cpu: bool = False) -> str:
    """The column heads, and how the last compare() measured (its real rounds, not the default)."""
    rounds, seconds, warmup = _last["rounds"], _last["seconds"], _last["warmup"]
    return (f"   {'':<{width}} {'rate':>9}  {'ratio (spread)':>17}   {'p99 latency, ratio':>19}"
            + (f"   {'server CPU/request':>18}" if cpu else "") + "\n"
            f"   ({rounds} interleaved round{'s' if rounds != 1 else ''} of {seconds} s after {warmup} s warm-up each;"
            " median, lowest-highest round)")
