"""A full or read-only document folder: accepting fails loudly, and nothing is acknowledged that was not stored.

The document folder is a real size-limited tmpfs mounted for the test (the database stays outside it): the
gateway meets ENOSPC from the kernel when it is full, and EROFS once it is remounted read-only.  Mounting
needs CAP_SYS_ADMIN (CI runs as root); without it the test is skipped, saying so.

- full: POST answers 507 `storage_full` with Retry-After; no invoice row, no idempotency record, no archive
  entry, no temporary file left; the same request (same Idempotency-Key) succeeds once space is freed;
- read-only: POST answers 503 `storage_unavailable`; stored documents are still served; writable again, it succeeds;
- a delivery whose receipt cannot be archived (folder full after the send) is retried and recorded once space
  is back, without sending again.
"""

from __future__ import annotations

import errno
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.jobs.deliver import Deliverer
from gateway.jobs.models import RETRYING, Delivery
from gateway.store import models as db
from gateway.store.models import IdempotencyRecord
from gateway.store.session import Database
from gateway.store.tenants import create_api_key, create_tenant
from tests.jobs import helpers
from tests.reliability.helpers import pending

pytestmark = pytest.mark.timeout(300)

SIZE_KIB = 2048  # room for a few invoices (~90 KB of documents each)


@contextmanager
def small_filesystem(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of `size_kib` KiB mounted on `path` for the block."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs ({mounted.stderr.strip()}): the storage faults need CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


def fill(path: Path) -> Path:
    """Write a file until the file system is full; the file (delete it to free the space)."""
    filler = path / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def counts(database: Database) -> tuple[int, int, int]:
    """Invoices, idempotency records, archive entries."""
    with database.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) or 0 for table in (db.Invoice, IdempotencyRecord, ArchiveEntry))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_full_or_read_only_document_folder_refuses_cleanly(kind, request, tmp_path, net):
    config = helpers.config_for(kind, tmp_path / "data", request)
    config = helpers.with_sections(config, routing=helpers.routing_section(), delivery={"connectors": net.connectors(), "backoff_base_seconds": 0.01})
    with small_filesystem(config.documents_dir, SIZE_KIB) as documents:
        app = create_app(config)
        database = app.extensions["gateway.database"]
        with database.session() as session:
            key = create_api_key(session, create_tenant(session, f"storage-{uuid.uuid4().hex[:8]}"))
        client = app.test_client()
        prefix = uuid.uuid4().hex[:6]

        def post(n: int):
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"{prefix}-{n}"}
            return client.post("/api/v1/invoices", json=helpers.invoice_json(f"S{prefix}-{n}"), headers=headers)

        first = post(0)
        assert first.status_code == 201
        document = f"/api/v1/invoices/{first.json['id']}/documents/facturx"

        # Full: 507, nothing stored or remembered, no temporary file; the same request succeeds once there is room.
        filler = fill(documents)
        before = counts(database)
        full = post(1)
        assert full.status_code == 507 and full.json["code"] == "storage_full" and full.headers["Retry-After"]
        assert full.mimetype == "application/problem+json"
        assert counts(database) == before
        assert not list(documents.rglob(".tmp-*"))
        filler.unlink()
        assert post(1).status_code == 201

        # Read-only: 503, stored documents still served; writable again, accepted.
        remount(documents, "ro")
        try:
            before = counts(database)
            refused = post(2)
            assert refused.status_code == 503 and refused.json["code"] == "storage_unavailable"
            assert counts(database) == before
            assert client.get(document, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        finally:
            remount(documents, "rw")
        assert post(2).status_code == 201

        # Deliveries whose receipts cannot be archived (the folder fills up after the send): retried, then recorded
        # from the committed answer once there is room, without a second deposit.
        deliverer = Deliverer(database, Archive.for_config(config), config)
        filler = fill(documents)
        for _ in range(3):
            assert deliverer.run_once("storage-test")
        with database.session() as session:
            deliveries = session.scalars(select(Delivery)).all()
            assert {d.state for d in deliveries} == {RETRYING} and all("No space left" in d.last_error for d in deliveries)
        filler.unlink()
        deadline = time.monotonic() + 60
        while pending(database) and time.monotonic() < deadline:
            deliverer.run_once("storage-test") or time.sleep(0.05)
        assert pending(database) == 0
        assert sorted(n for n in net.deposited_numbers() if n.startswith(f"S{prefix}-")) == [f"S{prefix}-{n}" for n in range(3)]

        with database.session() as session:
            invoices = session.scalars(select(db.Invoice)).all()
            assert sorted(i.number for i in invoices) == [f"S{prefix}-{n}" for n in range(3)]
            assert all(database.blobs.path(d.sha256).is_file() for i in invoices for d in i.documents)
            assert Archive.for_config(config).verify(session).ok
        database.dispose()
