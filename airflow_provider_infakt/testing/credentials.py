"""Demo credentials accepted by the inFakt emulator.

They are public on purpose: the emulator is a local test double, and these values let a DAG test, the demo
and the README's examples authenticate without any real secret. Never use them against inFakt itself.
"""

from __future__ import annotations

#: v3 API key with the scopes ``api:invoices:read`` and ``api:invoices:write``.
API_KEY = "demo-api-key"
#: v3 API key with ``api:invoices:read`` only: it can read invoices but not send them (403).
READONLY_API_KEY = "demo-readonly-api-key"

#: v2 OAuth 1.0a application (consumer) credentials.
CONSUMER_KEY = "demo-consumer-key"
CONSUMER_SECRET = "demo-consumer-secret"  # noqa: S105 - public demo value
#: v2 OAuth 1.0a access token pair of the demo account.
ACCESS_TOKEN = "demo-access-token"  # noqa: S105 - public demo value
TOKEN_SECRET = "demo-token-secret"  # noqa: S105 - public demo value

#: v2 xAuth login of the demo account (exchanged at ``POST /oauth/access_token`` for a token pair).
XAUTH_USERNAME = "demo@infakt.test"
XAUTH_PASSWORD = "demo-password"  # noqa: S105 - public demo value
