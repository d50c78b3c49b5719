"""The status portal: server-rendered pages for compliance officers, finance teams and operators.

- `models`: portal users (one tenant each, a role, a hashed password);
- `auth`: passwords, sessions that expire, CSRF tokens, roles;
- `i18n`: the French / English gettext catalogues (Flask-Babel) and locale formatting; `catalogues`: extracting,
  checking and compiling them (`python -m gateway.portal.catalogues`); `labels`: the gateway's codes in words;
- `terms`: EN 16931 business term names in plain words;
- `queries`: dashboard figures and the invoice list, on SQLite and PostgreSQL;
- `export`: the invoice list as CSV;
- `proofs`: recomputing one invoice's archive entries and inclusion proofs;
- `buyer`: the buyer's status form of an incoming invoice (checked with the lifecycle's rules);
- `views`: the blueprint (under /portal); `cli`: `gateway users …`.
"""
