"""The lifecycle of an invoice under the French reform: statuses, their rules, CDAR messages, deadlines.

- `codes`: the statuses and reason codes as data (one place);
- `events`: a status change and its amounts, as carried by a CDAR message;
- `machine`: the pure state machine deciding whether a change applies;
- `parties`: which statuses the tenant's side of an invoice sets itself (API and portal);
- `cdar`: CDAR D22B messages (build, parse, validate with the XSD and the DGFiP schematron);
- `deadlines`: the 24-hour reporting deadlines toward the PPF;
- `models`: the lifecycle tables beside `status_events` (migration 0200);
- `service`: recording events in the store (and the archive).
"""
