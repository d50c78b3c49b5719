"""`create_app(config)`: the Flask application.  Blueprints are registered here and only here."""

from __future__ import annotations

import logging

from flask import Flask

from gateway.api import (
    archive,
    bank_statements,
    delivery,
    dunning,
    inbound,
    invoices,
    meta,
    receivables,
    recurring,
    risk,
    signatures,
    statuses,
    webhooks,
)
from gateway.api.context import ARCHIVE, EXTENSION, SIGNER, close_session
from gateway.api.errors import register_error_handlers
from gateway.archive.service import Archive
from gateway.config import Config, load_config
from gateway.observability import http as observability
from gateway.portal import views as portal_views
from gateway.signing.sign import configured_signer
from gateway.store.session import Database


def create_app(config: Config | None = None) -> Flask:
    """The gateway web application for `config` (default: `load_config()`); the database must be migrated (`gateway db upgrade`)."""
    config = config or load_config()
    logging.getLogger("gateway").setLevel(config.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions[EXTENSION] = Database(config)
    app.extensions[ARCHIVE] = Archive.for_config(config)
    app.extensions[SIGNER] = configured_signer(config)
    app.teardown_appcontext(close_session)
    register_error_handlers(app)
    observability.install(app)
    app.register_blueprint(meta.bp)
    app.register_blueprint(invoices.bp)
    app.register_blueprint(archive.bp)
    app.register_blueprint(signatures.bp)
    app.register_blueprint(statuses.bp)
    app.register_blueprint(delivery.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(inbound.bp)
    app.register_blueprint(bank_statements.bp)
    app.register_blueprint(dunning.bp)
    app.register_blueprint(receivables.bp)
    app.register_blueprint(risk.bp)
    app.register_blueprint(recurring.bp)
    app.register_blueprint(portal_views.bp)
    return app
