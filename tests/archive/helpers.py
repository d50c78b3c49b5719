"""Running the archive CLI and the stand-alone verifier as an auditor would."""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

from gateway.archive.cli import add_commands

# The interpreter the venv was made from: with -I it sees neither the project nor the venv's packages.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def run_cli(monkeypatch, setup, *argv: str) -> int:
    """`gateway archive …` against `setup`'s database, configured through the environment as in production."""
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(setup.config.data_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", setup.config.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(setup.config.config_dir))
    parser = argparse.ArgumentParser(prog="gateway")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["archive", *argv])
    return args.func(args)


def run_verifier(export: Path, folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Unpack verifier.py from `export` into an empty `folder` and run it there, isolated (`python -I`)."""
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(export) as zf:
        (folder / "verifier.py").write_bytes(zf.read("verifier.py"))
    return subprocess.run([BASE_PYTHON, "-I", "verifier.py", *argv], cwd=folder, capture_output=True, text=True, timeout=120)


def rewrite_zip(source: Path, target: Path, name: str, change) -> None:
    """Copy the zip `source` to `target` with member `name` replaced by `change(bytes)`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item.filename, change(data) if item.filename == name else data)
