"""`gateway blobs sweep` on SQLite and PostgreSQL, against a real document folder: invoices stored through the intake, a
reception, a rolled-back intake and bytes put directly leave orphans; files are aged with os.utime.  Old orphans and
old temporary files go (with --delete only), young ones and every referenced blob stay, and the archive still verifies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import intake
from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.cli import main
from gateway.config import Config
from gateway.errors import InputError
from gateway.reception.models import Reception
from gateway.reception.service import record_unreadable
from gateway.store import models as db
from gateway.store.blobs import TEMP_PREFIX
from gateway.store.models import all_metadata
from gateway.store.session import Database, upgrade
from gateway.store.sweep import BLOB_REFERENCES, filesystem_now, find, remove
from tests.conftest import ROOT
from tests.jobs import helpers

DAY = 24 * 3600
# Digest columns that do not name stored files.
NOT_BLOB_DIGESTS = {("api_keys", "key_sha256"): "the hash of an API key", ("idempotency_records", "request_sha256"): "the hash of a request"}


@dataclass
class Gateway:
    config: Config
    database: Database
    archive: Archive

    def files(self) -> set[Path]:
        return {p for p in self.config.documents_dir.rglob("*") if p.is_file()}

    def referenced(self) -> set[str]:
        """Every digest the database names, read here independently of the sweep's own query."""
        with self.database.session() as session:
            return {
                digest
                for table, column in BLOB_REFERENCES
                for digest in session.scalars(select(all_metadata().tables[table].c[column]))
                if digest is not None
            }

    def verify(self) -> None:
        with self.database.session() as session:
            result = self.archive.verify(session)
        assert result.ok, result.summary()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gateway(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """A fresh migrated gateway, configured through the environment as `gateway` reads it in production."""
    config = helpers.config_for(request.param, tmp_path / "data", request)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", config.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(config.config_dir))
    made = Gateway(config, Database(config), Archive.for_config(config))
    yield made
    made.database.dispose()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """`main()` in-process: (exit code, stdout, stderr)."""

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help and usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return call


def age(paths: set[Path], seconds: float = DAY + 3600) -> None:
    moment = time.time() - seconds
    for path in paths:
        os.utime(path, (moment, moment))


def test_sweep_removes_old_orphans_only_and_the_archive_still_verifies(gateway: Gateway, run) -> None:
    blobs = gateway.database.blobs
    tenant = helpers.new_tenant(gateway.database)
    invoices = helpers.submit(gateway.database, gateway.archive, tenant, 2)
    with gateway.database.session() as session:
        owner = session.get(db.Tenant, tenant.id)
        record_unreadable(
            session, gateway.archive, owner, b"not an invoice", InputError("unreadable"), channel="email", origin="a@b.example", message=b"From: a"
        )
    before = gateway.files()
    with pytest.raises(RuntimeError), gateway.database.session() as session:  # a crash after storing, before the commit
        intake.store(session, gateway.archive, session.get(db.Tenant, tenant.id), helpers.processed("ROLLED-BACK-1"))
        raise RuntimeError("the transaction rolls back")
    rolled_back = gateway.files() - before
    assert len(rolled_back) >= 5  # input, canonical, cii, ubl, status event: written, never named
    old_orphan, young_orphan = blobs.path(blobs.put(b"old orphan")), blobs.path(blobs.put(b"young orphan"))
    old_temp, young_temp = old_orphan.parent / f"{TEMP_PREFIX}crashed", young_orphan.parent / f"{TEMP_PREFIX}in-flight"
    old_temp.write_bytes(b"half a document")
    young_temp.write_bytes(b"being written")
    stranger = old_orphan.parent / "notes.txt"  # not a blob name: left alone
    stranger.write_text("kept")
    with gateway.database.session() as session:
        gateway.archive.checkpoint(session)  # so that verification also checks a signed Merkle root over the entries
    age(gateway.files() - {young_orphan, young_temp})
    referenced = gateway.referenced()
    assert referenced and all(blobs.path(d).is_file() for d in referenced)
    orphans = rolled_back | {old_orphan}
    orphan_bytes = sum(p.stat().st_size for p in orphans)

    code, out, err = run("blobs", "sweep", "-v")  # listing is the default: nothing deleted
    assert code == 0 and not err
    assert out.splitlines()[-1].startswith(f"found {len(orphans)} orphan blob(s), {orphan_bytes} bytes, and 1 temporary file(s), 15 bytes")
    assert out.rstrip().endswith("deleted 0 (listing only: --delete removes them)")
    assert f"{len(referenced)} referenced blob(s) kept" in out
    for path in orphans:
        assert f"orphan {path.parent.name}{path.stem} {path.stat().st_size} bytes, modified " in out
    assert f"temporary {old_temp} 15 bytes" in out and young_orphan.stem not in out and str(young_temp) not in out
    assert gateway.files() >= orphans | {old_temp}

    deleting = subprocess.run(  # a real process, configured by the environment only
        [sys.executable, "-m", "gateway", "blobs", "sweep", "--delete"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deleting.returncode == 0, deleting.stderr
    assert deleting.stdout.strip().endswith(f"deleted {len(orphans) + 1}")
    left = gateway.files()
    assert not left & (orphans | {old_temp})
    assert {young_orphan, young_temp, stranger} <= left
    assert {blobs.path(d) for d in referenced} <= left
    assert not [p for p in left if p.name.startswith(f"{TEMP_PREFIX}swept-")]
    gateway.verify()
    assert run("archive", "verify")[0] == 0
    with gateway.database.session() as session:
        for invoice_id in invoices:
            for document in session.get(db.Invoice, invoice_id).documents:
                assert blobs.get(document.sha256)  # every document still readable, checked against its digest

    code, out, _ = run("blobs", "sweep", "--delete")
    assert code == 0 and out.startswith("found 0 orphan blob(s), 0 bytes, and 0 temporary file(s), 0 bytes") and "deleted 0" in out
    code, out, _ = run("blobs", "sweep", "--delete", "--older-than", "0")  # the young ones too, once past a shorter grace
    assert code == 0 and "found 1 orphan blob(s)" in out and "deleted 2" in out
    assert not young_orphan.exists() and not young_temp.exists() and stranger.exists()
    gateway.verify()


def test_rows_outside_the_archive_keep_their_blobs(gateway: Gateway, run) -> None:
    """A document or reception row naming bytes the archive does not name still keeps them: every digest column counts."""
    blobs = gateway.database.blobs
    tenant = helpers.new_tenant(gateway.database)
    [invoice_id] = helpers.submit(gateway.database, gateway.archive, tenant, 1)
    document, received, message = (blobs.put(f"stored without an archive entry: {n}".encode()) for n in range(3))
    with gateway.database.session() as session:
        session.add(db.Document(invoice_id=invoice_id, kind="ubl-peppol", content_type="application/xml", sha256=document, size=1))
        session.add(Reception(tenant_id=tenant.id, channel="api", outcome="unreadable", reasons=[], document_sha256=received, message_sha256=message))
    with gateway.database.session() as session:
        archived = set(session.scalars(select(ArchiveEntry.content_sha256)))
    assert not archived & {document, received, message}
    orphan = blobs.path(blobs.put(b"nobody names me"))
    age(gateway.files())
    code, out, _ = run("blobs", "sweep", "--delete")
    assert code == 0 and out.startswith("found 1 orphan blob(s)") and out.rstrip().endswith("deleted 1")
    assert not orphan.exists() and all(blobs.path(d).is_file() for d in (document, received, message))
    gateway.verify()


def test_a_database_that_names_nothing_deletes_nothing(gateway: Gateway, run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pointed at a database that names none of the folder's files (here: another, empty one), --delete refuses."""
    blobs = gateway.database.blobs
    helpers.submit(gateway.database, gateway.archive, helpers.new_tenant(gateway.database), 1)
    age(gateway.files())
    count = len(gateway.files())
    other = Config(data_dir=tmp_path / "other", config_dir=tmp_path / "no-config")
    upgrade(other)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", other.database_url)
    code, out, err = run("blobs", "sweep")
    assert code == 0 and f"found {count} orphan blob(s)" in out and "warning: none of the" in err
    code, out, err = run("blobs", "sweep", "--delete")
    assert code == 2 and not out and "do the database and the data folder belong together" in err and "Nothing deleted." in err
    assert len(gateway.files()) == count and blobs.root.is_dir()
    gateway.verify()


def test_a_blob_reused_by_a_write_in_flight_is_not_swept(gateway: Gateway) -> None:
    """`put` renews the mtime of a file it reuses: before the sweep looked, the file is young; after, `remove` puts it back."""
    blobs = gateway.database.blobs
    before = blobs.path(blobs.put(b"an old orphan, sent again by a retrying ERP"))
    after = blobs.path(blobs.put(b"another one, sent again while the sweep runs"))
    age({before, after})
    blobs.put(before.read_bytes())
    assert before.stat().st_mtime > filesystem_now(before.parent) - 60
    findings = find(gateway.database, DAY)
    assert [s.path for s in findings.orphans] == [after] and findings.recent == 1
    blobs.put(after.read_bytes())  # between the sweep's look and its deletion
    assert remove(findings) == 0
    assert before.read_bytes() and after.read_bytes() == b"another one, sent again while the sweep runs"
    assert not [p for p in gateway.files() if p.name.startswith(TEMP_PREFIX)]


def test_every_digest_column_is_known() -> None:
    """A new `*sha256` column must be added to BLOB_REFERENCES (it names stored files) or here (it does not)."""
    columns = {(t.name, c.name) for t in all_metadata().tables.values() for c in t.columns if c.name.endswith("sha256")}
    assert columns == set(BLOB_REFERENCES) | set(NOT_BLOB_DIGESTS)


def test_help_and_usage_errors(run) -> None:
    code, out, _ = run("blobs", "sweep", "--help")
    assert code == 0 and "usage: gateway blobs sweep" in out and "--delete" in out and "--older-than HOURS" in out
    assert run("blobs", "--help")[0] == 0
    for bad in ("-1", "nan", "soon", "inf"):
        code, _, err = run("blobs", "sweep", "--older-than", bad)
        assert code == 2 and "not a number of hours" in err


def test_ages_are_measured_on_the_file_systems_clock(gateway: Gateway, monkeypatch) -> None:
    """A host clock a year ahead of the file system's (a network file system, a faked clock): a fresh orphan stays young."""
    blobs = gateway.database.blobs
    fresh = blobs.path(blobs.put(b"written just now, named by no row yet"))
    ahead = time.time() + 365 * DAY
    monkeypatch.setattr(time, "time", lambda: ahead)
    assert fresh not in [s.path for s in find(gateway.database, DAY).orphans]
    assert not [p for p in fresh.parent.iterdir() if p.name.startswith(f"{TEMP_PREFIX}clock-")]  # the probe is gone
