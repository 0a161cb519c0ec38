"""Every table of the application, gathered from the capability folders (for Alembic)."""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import MetaData

import pbx_stasis
from pbx_stasis.store.tables import Base

TABLES_MODULE = "tables.py"


def load_all_tables() -> MetaData:
    """Import every `pbx_stasis/<capability>/tables.py` and return the metadata they fill.

    Each capability keeps its tables in its own folder; migrations and `alembic check` need all of
    them registered on Base.metadata, without a list to keep up to date by hand.
    """
    for root in pbx_stasis.__path__:
        for module in sorted(Path(root).glob(f"*/{TABLES_MODULE}")):
            importlib.import_module(f"pbx_stasis.{module.parent.name}.tables")
    return Base.metadata
