"""Every unit of work goes through `Database.transaction()`.

On SQLite a transaction opened with `session.begin()` starts deferred: when it reads and then
writes while another connection has written meanwhile, SQLite fails it at once with "database is
locked" (the busy timeout does not apply), which the API answers as 503. The API fuzz found two
settings pages doing that (the CRM link's and number masking's save)."""

from __future__ import annotations

import re
from pathlib import Path

import pbx_stasis

PACKAGE = Path(pbx_stasis.__file__).parent
# The store is where transactions are made: the write lock is taken up front there.
OWNER = PACKAGE / "store" / "db.py"
BEGIN = re.compile(r"\bsession\.begin\(\)")


def test_no_feature_opens_its_own_transaction() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py") if path != OWNER
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if BEGIN.search(line)
    ]
    assert found == [], "use Database.transaction() instead of session.begin(): " + ", ".join(found)
