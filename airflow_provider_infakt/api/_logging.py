"""Keep personal data out of the HTTP libraries' own log lines.

urllib3 (DEBUG) and httpx (INFO) log each request's URL, and a v2 deliver URL holds the recipient's
e-mail address in its query. :func:`mask_addresses_in` adds a filter to those loggers that rewrites
each record with every e-mail address masked (``j***@example.com``). Secrets never travel in URLs,
so they cannot appear there in the first place.
"""

from __future__ import annotations

import logging

from .errors import looks_like_address, redact_text

__all__ = ["mask_addresses_in"]


class _MaskAddresses(logging.Filter):
    """Rewrites a record's message with e-mail addresses masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if looks_like_address(message):
            record.msg = redact_text(message)
            record.args = ()
        return True


_FILTER = _MaskAddresses()


def mask_addresses_in(*logger_names: str) -> None:
    """Install the masking filter on the named loggers (once each)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
