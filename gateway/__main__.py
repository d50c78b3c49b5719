"""The `gateway` command's entry point (also `python -m gateway`).

A command-line tool shows its users its own messages, not its libraries' warnings (pyhanko's import, for one, warns
about DSA with a recent `cryptography`): they are silenced here, before anything is imported, unless the user asks for
them with `python -W …` or PYTHONWARNINGS.  The commands themselves are in `gateway.cli`.
"""

from __future__ import annotations

import sys
import warnings


def main() -> int:
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    from gateway.cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
