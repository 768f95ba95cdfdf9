"""Peak RSS of one 40 MB upload, in a fresh process. The JPEG is made in another process and arrives
on stdin; the kernel's peak-RSS mark is then reset (Linux: /proc/self/clear_refs), so what is
reported is the upload's own peak over the memory in use just before it (the body, held once)."""
import subprocess
import sys

from bench.fixtures import jpeg_of_size, local_container

SIZE = 40 * 1024 * 1024


def _kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> None:
    if sys.argv[1:] == ["make"]:
        sys.stdout.buffer.write(jpeg_of_size(SIZE))
        return
    data = subprocess.run([sys.executable, "-m", "bench.rss", "make"], capture_output=True, check=True).stdout
    container, pid, folder = local_container()
    container.ingest.upload(pid, folder, jpeg_of_size(100_000), taken_at=None, note=None, view=None)  # warm up
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current RSS
    before = _kib("VmRSS")
    container.ingest.upload(pid, folder, data, taken_at=None, note=None, view=None)
    peak = _kib("VmHWM")
    mb = len(data) / 2**20
    growth = (peak - before) / 1024
    print(f"peak RSS of a {mb:.0f} MiB upload: +{growth:.0f} MiB over the RSS just before it"
          f" ({growth / mb:.2f}x the upload; the body itself was already in memory)")


if __name__ == "__main__":
    sys.exit(main())
