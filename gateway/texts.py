"""Marking the messages the core writes for people, so that the portal can show them in the reader's language.

The core writes English: logs, API answers and the reasons it stores (routing decisions, delivery
errors, its own validation findings).  A template marked with `N_` and filled in with `str.format`
is collected by pybabel into the `core` gettext catalogue (gateway/portal/translations/); the portal
recognises a stored text as one of those templates filled in, and shows the template's translation
with the same values (`gateway.portal.i18n.core_text`).  Marking changes nothing where it is done.
"""

from __future__ import annotations


def N_(template: str) -> str:
    """Mark `template` for translation where it is shown; returns it unchanged."""
    return template
