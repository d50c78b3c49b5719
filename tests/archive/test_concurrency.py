"""Concurrent appends from threads and processes produce one linear chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.store.session import Database

THREADS, PROCESSES, APPENDS_EACH = 6, 2, 250  # 8 writers, 2,000 appends, one transaction each


def write(database: Database, archive: Archive, writer: int, count: int, start) -> None:
    start.wait(timeout=60)  # every writer, thread or process, begins together
    for i in range(count):
        with database.session() as session:
            archive.append(session, tenant_id=writer, invoice_id=None, kind="status", data=f"writer {writer} message {i}".encode())


def write_in_process(database_url: str, data_dir: str, writer: int, count: int, start) -> None:
    """A writer process: its own engine and archive, as a separate gateway worker would have."""
    config = Config(data_dir=Path(data_dir), database_url=database_url, config_dir=Path(data_dir) / "no-config")
    database = Database(config)
    try:
        write(database, Archive.for_config(config), writer, count, start)
    finally:
        database.dispose()


def test_concurrent_writers_make_one_chain(setup):
    config = setup.config
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(THREADS + PROCESSES)
    processes = [
        spawn.Process(target=write_in_process, args=(config.database_url, str(config.data_dir), THREADS + n, APPENDS_EACH, start))
        for n in range(PROCESSES)
    ]
    threads = [threading.Thread(target=write, args=(setup.database, setup.archive, t, APPENDS_EACH, start)) for t in range(THREADS)]
    for worker in (*processes, *threads):
        worker.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0

    result = setup.verify()
    total = (THREADS + PROCESSES) * APPENDS_EACH
    assert result.ok, result.problems[:3]
    assert (result.entries, result.head_seq) == (total, total)
    with setup.database.session() as session:
        rows = session.execute(select(ArchiveEntry.tenant_id, ArchiveEntry.seq)).all()
    assert Counter(writer for writer, _ in rows) == {writer: APPENDS_EACH for writer in range(THREADS + PROCESSES)}
    spans = {writer: max(s for w, s in rows if w == writer) - min(s for w, s in rows if w == writer) + 1 for writer in range(THREADS + PROCESSES)}
    assert all(span > APPENDS_EACH for span in spans.values()), f"writers did not interleave: {spans}"
    setup.checkpoint()
    assert setup.verify().ok
