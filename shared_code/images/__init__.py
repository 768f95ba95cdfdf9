"""Images: the record and its repository (with the index of pending uploads), the patient key, the
encrypted objects, and the services: `reads` (what other areas may use, see `contract`), `ingest`
(direct upload, upload URLs), `incoming` (processing an upload that arrived), `edits` (change,
delete, template) and `redrive` (the upload timers)."""
