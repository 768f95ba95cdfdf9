"""Retention: what the service keeps, and for how long, enforced.

    records.py     the legal hold, the activity entry, the audit deletion due, the run's audit record
    repository.py  the only code that reads or writes them (all in `directory`, one partition each,
                   so every sweep is one single-partition query ordered by a time)
    service.py     the timer's run (inactive accounts warned then erased; leftover outbox markers,
                   notification dedupe records and erased patients' audit trails deleted), and
                   account activity (written at most once a day; what an erasure leaves to do)
    holds.py       legal holds: a platform admin stops every retention action for one patient

The periods are Settings (RETENTION_*); docs/clinical-safety-and-ig.md argues their defaults."""
