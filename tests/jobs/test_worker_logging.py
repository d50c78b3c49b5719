"""The worker's log at the default level says what the gateway did, not what its scheduler library does every few seconds."""

from __future__ import annotations

import io
import logging

from gateway.jobs.worker import Worker
from gateway.observability.logging import configure_logging


def test_the_scheduler_says_nothing_at_info(setup):
    root, scheduler = logging.getLogger(), logging.getLogger("apscheduler")
    saved = (list(root.handlers), root.level, scheduler.level)
    stream = io.StringIO()
    try:
        configure_logging(setup.config, stream)  # the default level, INFO
        assert setup.config.log_level == "INFO"
        worker = Worker(setup.deliverer(), threads=0)
        worker.start()
        worker.release_expired()  # a job run by hand: the gateway's own lines still come through
        worker.stop()
        logging.getLogger("gateway.jobs.worker").info("still heard")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        scheduler.setLevel(saved[2])
    lines = stream.getvalue().splitlines()
    assert not [line for line in lines if "apscheduler" in line], lines  # "Scheduler started", "Added job …", "Running job …"
    assert any("still heard" in line for line in lines)
