"""`pbx check`: reach every dependency and say, one line each, what is wrong."""

from __future__ import annotations

from pbx_stasis.app import ari_root
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.config import Settings
from pbx_stasis.store import Database, StoreError, migrate


async def run_checks(settings: Settings) -> list[str]:
    problems: list[str] = []
    try:
        db = Database.connect(settings.database.url)
    except StoreError as exc:
        problems.append(str(exc))
    else:
        try:
            await db.ping()
            revision = await migrate.current(settings.database.url)
            if revision != migrate.head():
                problems.append(
                    f"database schema is at {revision or 'nothing'}, expected {migrate.head()}: "
                    "run `pbx migrate`"
                )
        except StoreError as exc:
            problems.append(str(exc))
        finally:
            await db.dispose()

    try:
        async with AriClient(ari_root(settings.ari.url), settings.ari.user,
                             settings.ari.password, timeout=5.0) as ari:
            info = await ari.asterisk.info()
            version = info.get("system", {}).get("version", "?")
            if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 20:
                problems.append(f"ARI {settings.ari.url}: Asterisk {version} is older than 20")
    except AriError as exc:
        problems.append(f"ARI (ari.url = {settings.ari.url}): {exc}")
    return problems
