"""`@stores_only` (shared_code/http/offload.py): a store-only handler runs where it is called when the
app's stores are in-process (local mode), and in the thread pool when they are across the network."""
import asyncio
import threading

from shared_code.http.offload import in_process_stores, stores_only


@stores_only
def _where(label: str) -> tuple[str, int]:
    return label, threading.get_ident()


def _run(in_process: bool) -> tuple[tuple[str, int], int]:
    async def main():
        in_process_stores.set(in_process)
        return await _where("x"), threading.get_ident()

    return asyncio.run(main())


def test_with_in_process_stores_the_handler_runs_on_the_event_loop():
    (label, handler_thread), loop_thread = _run(True)
    assert label == "x" and handler_thread == loop_thread


def test_with_stores_across_the_network_the_handler_runs_in_the_thread_pool():
    (label, handler_thread), loop_thread = _run(False)
    assert label == "x" and handler_thread != loop_thread
