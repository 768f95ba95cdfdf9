"""Operations commands: `python -m shared_code.cli <command> ...`.

    poison list [--queue Q]          a poison queue (ids and attempts only); Q: notifications (default)
                                     or decision-support
    poison requeue --all [--queue Q] move every poisoned message back to its queue
    poison requeue --id ID [--queue Q]
                                     move one back (its queue message id, or its eventId for a
                                     notification, its lesionId for a decision-support job)
    rotate-patient-keys [--dry-run]  re-wrap every patient and referral key under the newest KEK version;
                                     resumable: keys already under it are skipped, so run it again after a stop
    legal-hold set --patient ID --reason REF --by ADMIN
                                     stop every retention action for one patient (audited)
    legal-hold clear --patient ID --by ADMIN
    legal-hold list                  the patients on hold

Works on whichever backends the settings select (APP_MODE and friends from the environment):
the embedded SQLite queue under LOCAL_DATA_DIR, or the Storage queue in Azure. A requeued message
is sent again from its first attempt; a second copy does no harm: the dispatcher's dedupe records
make sure nobody already told is told twice, and the decision-support worker drops a job whose
lesion is no longer waiting for that assessment.

Each command area adds itself to `COMMANDS` with a `register(subparsers)` function that sets
`handler(args, container, out) -> int` on its parsers.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from shared_code.ports.errors import NotFound
from shared_code.settings import (
    DECISION_SUPPORT_POISON_QUEUE, DECISION_SUPPORT_QUEUE, NOTIFICATIONS_POISON_QUEUE, NOTIFICATIONS_QUEUE,
)

PEEK_LIMIT = 32  # the most Azure Storage lets one peek return
REQUEUE_VISIBILITY = 60
SCAN_VISIBILITY = 1  # seconds the other messages of a scanned batch stay hidden (the minimum)


# --- poison ---
@dataclass(frozen=True)
class Poisoned:
    """One queue whose failed messages the Functions host parks in a poison queue."""
    queue: str
    poison: str
    noun: str                 # what one message is, in what the commands print
    fields: tuple[str, ...]   # the body's id fields that are printed (nothing else of a body is)
    key: str                  # the body field `requeue --id` also matches


POISON_QUEUES = {
    "notifications": Poisoned(NOTIFICATIONS_QUEUE, NOTIFICATIONS_POISON_QUEUE, "notification",
                              ("kind", "eventId", "dedupeKey"), "eventId"),
    "decision-support": Poisoned(DECISION_SUPPORT_QUEUE, DECISION_SUPPORT_POISON_QUEUE, "decision-support job",
                                 ("clinicId", "referralId", "lesionId", "imageId"), "lesionId"),
}


def _register_poison(subparsers) -> None:
    poison = subparsers.add_parser("poison", help="the poison queues (notifications, decision-support)")
    actions = poison.add_subparsers(dest="action", required=True)
    which_queue = argparse.ArgumentParser(add_help=False)
    which_queue.add_argument("--queue", choices=sorted(POISON_QUEUES), default="notifications",
                             help="whose poison queue (default: notifications)")
    listing = actions.add_parser("list", parents=[which_queue], help=f"show up to {PEEK_LIMIT} poisoned messages")
    listing.set_defaults(handler=_poison_list)
    requeue = actions.add_parser("requeue", parents=[which_queue], help="move poisoned messages back to their queue")
    which = requeue.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every poisoned message")
    which.add_argument("--id", metavar="ID", help="one message: its queue message id, or its eventId "
                                                  "(notifications) or lesionId (decision-support)")
    requeue.set_defaults(handler=_poison_requeue)


def _summary(body: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """Ids only (messages never carry personal data, but a malformed one could hold anything, so
    its body is not printed)."""
    try:
        message = json.loads(body)
        return {name: message.get(name) for name in fields}
    except (ValueError, AttributeError):
        return {**dict.fromkeys(fields), "malformed": True}


def _missing_queue(exc: Exception) -> bool:
    # In Azure the host creates the poison queue on the first poisoned message: none yet is empty.
    return type(exc).__name__ == "ResourceNotFoundError"


def _poison_list(args, container, out: TextIO) -> int:
    which = POISON_QUEUES[args.queue]
    try:
        messages = container.adapters.queue.peek(which.poison, max_messages=PEEK_LIMIT)
    except Exception as exc:
        if not _missing_queue(exc):
            raise
        messages = []
    for message in messages:
        out.write(json.dumps({"id": message.id, "attempts": message.dequeue_count,
                              **_summary(message.body, which.fields)}) + "\n")
    more = " (the first ones: more may be waiting)" if len(messages) == PEEK_LIMIT else ""
    out.write(f"{len(messages)} poisoned {which.noun}(s){more}\n")
    return 0


def _poison_requeue(args, container, out: TextIO) -> int:
    try:
        return _requeue(args, POISON_QUEUES[args.queue], container.adapters.queue, out)
    except Exception as exc:
        if not _missing_queue(exc):
            raise
        out.write("the poison queue is empty (it does not exist yet)\n")
        return 0 if args.all else 1


def _requeue(args, which: Poisoned, queue, out: TextIO) -> int:
    moved = 0
    if args.all:
        while True:
            batch = queue.receive(which.poison, max_messages=PEEK_LIMIT, visibility_timeout=REQUEUE_VISIBILITY)
            if not batch:
                break
            for message in batch:
                _move_back(which, queue, message)
                moved += 1
        out.write(f"requeued {moved} {which.noun}(s)\n")
        return 0
    seen: set[str] = set()
    while True:
        # Others in the batch are only hidden for a moment (SCAN_VISIBILITY) while we look.
        batch = queue.receive(which.poison, max_messages=PEEK_LIMIT, visibility_timeout=SCAN_VISIBILITY)
        fresh = [m for m in batch if m.id not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message.id)
            if args.id in (message.id, _summary(message.body, which.fields).get(which.key)):
                _move_back(which, queue, message)
                out.write(f"requeued {message.id}\n")
                return 0
    out.write(f"no poisoned {which.noun} with id {args.id}\n")
    return 1


def _move_back(which: Poisoned, queue, message) -> None:
    # Send before delete: a crash in between leaves a copy in both queues (harmless: see the module
    # docstring), never none.
    queue.send(which.queue, message.body)
    try:
        queue.delete(which.poison, message)
    except NotFound:
        pass  # taken by another requeue meanwhile: at worst a second copy, which is harmless too


# --- KEK rotation ---
def _register_rotation(subparsers) -> None:
    rotate = subparsers.add_parser("rotate-patient-keys",
                                   help="re-wrap every patient and referral key under the newest KEK version (resumable)")
    rotate.add_argument("--dry-run", action="store_true", help="count what would be re-wrapped; write nothing")
    rotate.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    rotate.set_defaults(handler=_rotate)


def _rotate(args, container, out: TextIO) -> int:
    from tqdm import tqdm

    def progress(ids):
        # Twice: the patients, then the clinics whose referrals are re-wrapped.
        return ids if args.no_progress else tqdm(ids, unit="owner", file=sys.stderr)

    report = container.key_rotation.run(dry_run=args.dry_run, progress=progress)
    verb = "would re-wrap" if args.dry_run else "re-wrapped"
    out.write(f"KEK version now: {report.current_kid}\n"
              f"patients: {report.total}; {verb}: {report.rewrapped}; already current: {report.already_current}; "
              f"erased meanwhile: {report.gone}\n"
              f"referrals: {report.referrals.total}; {verb}: {report.referrals.rewrapped}; "
              f"already current: {report.referrals.already_current}; "
              f"without a key: {report.referrals.without_key}\n"
              f"failed: {len(report.failed)}\n")
    if report.failed:
        out.write("some patients or referrals changed while we worked: run the command again to finish\n")
    return 1 if report.failed else 0


# --- legal holds (shared_code/retention/holds.py) ---
def _register_legal_hold(subparsers) -> None:
    hold = subparsers.add_parser("legal-hold", help="stop retention for one patient (platform admin)")
    actions = hold.add_subparsers(dest="action", required=True)
    put = actions.add_parser("set", help="place a patient on legal hold")
    put.add_argument("--patient", required=True, metavar="ID", help="the patient id")
    put.add_argument("--reason", required=True, metavar="REF", help="a case reference (no clinical text)")
    put.add_argument("--by", required=True, metavar="ADMIN", help="who sets it (name or object id), for the audit")
    put.set_defaults(handler=_hold_set)
    clear = actions.add_parser("clear", help="release a patient's legal hold")
    clear.add_argument("--patient", required=True, metavar="ID")
    clear.add_argument("--by", required=True, metavar="ADMIN")
    clear.set_defaults(handler=_hold_clear)
    actions.add_parser("list", help="the patients on hold").set_defaults(handler=_hold_list)


def _hold_set(args, container, out: TextIO) -> int:
    hold = container.legal_holds.set(args.patient, args.reason, args.by)
    out.write(f"legal hold set on {hold.patient_id} at {hold.set_at}: retention skips this patient\n")
    return 0


def _hold_clear(args, container, out: TextIO) -> int:
    if not container.legal_holds.clear(args.patient, args.by):
        out.write(f"no legal hold on {args.patient}\n")
        return 1
    out.write(f"legal hold cleared on {args.patient}\n")
    return 0


def _hold_list(args, container, out: TextIO) -> int:
    holds = container.legal_holds.list()
    for hold in holds:
        out.write(json.dumps({"patientId": hold.patient_id, "reason": hold.reason, "setBy": hold.set_by,
                              "setAt": hold.set_at}) + "\n")
    out.write(f"{len(holds)} patient(s) on legal hold\n")
    return 0


COMMANDS: list[Callable[[Any], None]] = [_register_poison, _register_rotation, _register_legal_hold]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared_code.cli", description="Teledermatology operations")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None, *, container: Any = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    if container is None:
        from shared_code.container import container_from_environment

        container = container_from_environment()
    return args.handler(args, container, out or sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
