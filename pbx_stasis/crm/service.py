"""The CRM's service as the web side holds it: contacts, dispositions and call outcomes over the
database, reading phone numbers by the configured region (`crm.region`). Its routes (http.py)
reach it through the app key CRM, which the crm plugin fills when the web app is made."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from pbx_stasis.crm.contacts import Contacts
from pbx_stasis.crm.dispositions import Dispositions, Outcomes
from pbx_stasis.crm.field_store import ContactFieldStore
from pbx_stasis.crm.phones import Numbering, numbering
from pbx_stasis.store.db import Database
from pbx_stasis.web.routing import RouteRequest


@dataclass(frozen=True)
class Crm:
    """The CRM's stores, and how they read national numbers."""

    contacts: Contacts
    dispositions: Dispositions
    outcomes: Outcomes
    numbering: Numbering
    fields: ContactFieldStore

    @classmethod
    def over(cls, db: Database, region: str) -> Crm:
        plan = numbering(region)
        return cls(Contacts(db, plan), Dispositions(db), Outcomes(db), plan,
                   ContactFieldStore(db))


CRM: web.AppKey[Crm] = web.AppKey("crm")


def crm_of(req: RouteRequest) -> Crm:
    return req.http.app[CRM]
