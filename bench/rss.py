"""Peak RSS of one 40 MB upload, in a fresh process whose earlier peak is small: the JPEG is made in
another process and arrives on stdin, so making it does not set the peak."""
import resource
import subprocess
import sys

from bench.fixtures import jpeg_of_size, local_container

SIZE = 40 * 1024 * 1024


def main() -> None:
    if sys.argv[1:] == ["make"]:
        sys.stdout.buffer.write(jpeg_of_size(SIZE))
        return
    data = subprocess.run([sys.executable, "-m", "bench.rss", "make"], capture_output=True, check=True).stdout
    container, pid, folder = local_container()
    container.images.upload(pid, folder, jpeg_of_size(100_000), taken_at=None, note=None, view=None)  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    container.images.upload(pid, folder, data, taken_at=None, note=None, view=None)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = len(data) / 2**20
    print(f"peak RSS of a {mb:.0f} MiB upload: +{after - before:.0f} MiB over the peak before it"
          f" ({(after - before) / mb:.2f}x the upload, which is itself held once in memory)")


if __name__ == "__main__":
    sys.exit(main())
