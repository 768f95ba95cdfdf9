"""The admission limit on upload processing (shared_code/images/admission.py), on its own: at most N
at once, the next one waits for a slot or is refused `UploadsBusy`, and a slot always comes back,
whether its upload succeeded, failed or was cancelled. No timing: a refusal uses a zero wait and a
held slot; a waiter is observed waiting before it is released."""
from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from shared_code.errors import UploadsBusy
from shared_code.images.admission import Admission, upload_admission
from shared_code.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LONG = 60.0  # a wait that never runs out in these tests: each waiter is released long before


async def _until_waiting(admission: Admission, count: int) -> None:
    while admission.waiting < count:
        await asyncio.sleep(0)


def test_admits_n_at_once_and_the_next_waits_for_a_release():
    async def scenario():
        admission = Admission(2, LONG)
        first, second = admission.slot(), admission.slot()
        await first.__aenter__()
        await second.__aenter__()
        assert admission.in_use == 2

        async def third():
            async with admission.slot():
                return admission.in_use

        waiting = asyncio.create_task(third())
        await _until_waiting(admission, 1)
        assert not waiting.done() and admission.in_use == 2
        await first.__aexit__(None, None, None)
        assert await waiting == 2  # it ran in the freed slot, the other still held
        await second.__aexit__(None, None, None)
        assert admission.in_use == 0 and admission.waiting == 0

    asyncio.run(scenario())


def test_a_caller_that_waits_too_long_is_refused_uploads_busy():
    async def scenario():
        admission = Admission(1, 0)
        async with admission.slot():
            with pytest.raises(UploadsBusy) as refused:
                async with admission.slot():
                    pytest.fail("admitted over the limit")
        assert refused.value.retry_after is not None
        assert admission.in_use == 0 and admission.waiting == 0
        async with admission.slot():  # and the refusal took nothing
            assert admission.in_use == 1

    asyncio.run(scenario())


def test_a_failing_upload_gives_its_slot_back():
    async def scenario():
        admission = Admission(1, 0)
        with pytest.raises(ValueError):
            async with admission.slot():
                raise ValueError("the image was corrupt")
        async with admission.slot():
            assert admission.in_use == 1

    asyncio.run(scenario())


def test_a_cancelled_holder_gives_its_slot_back_and_a_cancelled_waiter_takes_none():
    async def scenario():
        admission = Admission(1, LONG)
        holding = asyncio.Event()

        async def holder():
            async with admission.slot():
                holding.set()
                await asyncio.Event().wait()  # processing that is interrupted (client gone, shutdown)

        held = asyncio.create_task(holder())
        await holding.wait()

        async def waiter():
            async with admission.slot():
                pytest.fail("a cancelled waiter was admitted")

        waiting = asyncio.create_task(waiter())
        await _until_waiting(admission, 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert admission.waiting == 0 and admission.in_use == 1
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        assert admission.in_use == 0
        async with admission.slot():
            assert admission.in_use == 1

    asyncio.run(scenario())


def test_a_trigger_thread_waiting_is_woken_by_a_release_on_the_event_loop():
    admission = Admission(1, LONG)
    outcome: list[int] = []

    def trigger():
        with admission.hold():
            outcome.append(admission.in_use)

    async def scenario():
        async with admission.slot():
            thread = threading.Thread(target=trigger)
            thread.start()
            await _until_waiting(admission, 1)
            assert not outcome
        await asyncio.to_thread(thread.join)

    asyncio.run(scenario())
    assert outcome == [1] and admission.in_use == 0


def test_a_thread_that_waits_too_long_is_refused_and_leaves_nothing_behind():
    admission = Admission(1, 0)
    with admission.hold():
        with pytest.raises(UploadsBusy):
            with admission.hold():
                pytest.fail("admitted over the limit")
    assert admission.in_use == 0 and admission.waiting == 0


def test_one_limiter_per_process_and_settings():
    settings = Settings(APP_MODE="local", MAX_CONCURRENT_UPLOADS="3", UPLOAD_WAIT_SECONDS="0.5")
    again = Settings(APP_MODE="local", MAX_CONCURRENT_UPLOADS="3", UPLOAD_WAIT_SECONDS="0.5")
    assert upload_admission(settings) is upload_admission(again)
    assert upload_admission(settings).limit == 3


def test_host_json_lets_the_host_start_no_more_upload_runs_than_the_limit():
    host = json.loads((REPO / "host.json").read_text())
    assert host["extensions"]["blobs"]["maxDegreeOfParallelism"] \
        == Settings.model_fields["max_concurrent_uploads"].default
