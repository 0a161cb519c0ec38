"""The contact center's interface, declared once: what the web pages need from the telephony side,
the ACD's AcdControl (acd/service.py) and the IVR's FlowControl (ivr/service.py) in one protocol.

The web layer owns logins, sessions, roles, contacts and dispositions itself; everything that
touches a live call, an agent's state, a queue or an IVR flow goes through these protocols, which
the Stasis application implements. `center.live.LiveContactCenter` implements ContactCenter over
the running Stasis app; a web process of its own gets a proxy generated from it
(pbx_stasis.remote). The values are the features' own, named here too so that the generated
proxy resolves every annotation of the protocol in this module.
"""

from __future__ import annotations

from typing import Protocol

from pbx_stasis.acd.model import AgentState, QueueConfig
from pbx_stasis.acd.service import (
    AcdControl,
    AgentProfile,
    AgentView,
    CallState,
    LiveCall,
    QueueStats,
    SettableState,
    SipCredentials,
    TransferKind,
)
from pbx_stasis.ivr.errors import Problem
from pbx_stasis.ivr.service import FlowControl, FlowDocument, FlowSummary

__all__ = [
    "AcdControl",
    "AgentProfile",
    "AgentState",
    "AgentView",
    "CallState",
    "ContactCenter",
    "FlowControl",
    "FlowDocument",
    "FlowSummary",
    "LiveCall",
    "Problem",
    "QueueConfig",
    "QueueStats",
    "SettableState",
    "SipCredentials",
    "TransferKind",
]


class ContactCenter(AcdControl, FlowControl, Protocol):
    """The telephony operations behind the web pages and API."""
