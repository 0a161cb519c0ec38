"""IVR flows in YAML: loader and validator, the sans-IO interpreter, the simulator (docs/ivr.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbx_stasis.lazy import exports

if TYPE_CHECKING:
    from pbx_stasis.ivr.core import (
        Action,
        CallContext,
        CallerHungUp,
        CancelTimer,
        DtmfReceived,
        Enqueue,
        FlowJournalRow,
        Hangup,
        HttpLookup,
        Interpreter,
        IvrInput,
        LookupFailed,
        LookupResult,
        Outcome,
        Play,
        PlaybackFinished,
        QueueAnswered,
        QueueExited,
        SetLanguage,
        StartTimer,
        StopPlayback,
        TimerExpired,
        Transfer,
        TransferCompleted,
        TransferFailed,
        Voicemail,
        VoicemailFailed,
        VoicemailRecorded,
        Wait,
    )
    from pbx_stasis.ivr.errors import FlowSetInvalid, NoFlowForDid, Pos, Problem
    from pbx_stasis.ivr.loader import check_sources, load_flowset, load_flowset_files, read_sources
    from pbx_stasis.ivr.model import Flow, FlowSet
    from pbx_stasis.ivr.simulate import simulate_main, validate_main

_HOMES = {  # each module and the names it exports
    "core": (
        "Action", "CallContext", "CallerHungUp", "CancelTimer", "DtmfReceived", "Enqueue",
        "FlowJournalRow", "Hangup", "HttpLookup", "Interpreter", "IvrInput", "LookupFailed",
        "LookupResult", "Outcome", "Play", "PlaybackFinished", "QueueAnswered", "QueueExited",
        "SetLanguage", "StartTimer", "StopPlayback", "TimerExpired", "Transfer",
        "TransferCompleted", "TransferFailed", "Voicemail", "VoicemailFailed", "VoicemailRecorded",
        "Wait",
    ),
    "errors": ("FlowSetInvalid", "NoFlowForDid", "Pos", "Problem"),
    "loader": ("check_sources", "load_flowset", "load_flowset_files", "read_sources"),
    "model": ("Flow", "FlowSet"),
    # (not `simulate` itself: the name is its module's, which importing the module sets here)
    "simulate": ("simulate_main", "validate_main"),
}
if not TYPE_CHECKING:  # loaded on first use (pbx_stasis.lazy)
    __getattr__ = exports(__name__, _HOMES)

__all__ = [
    "Action",
    "CallContext",
    "CallerHungUp",
    "CancelTimer",
    "DtmfReceived",
    "Enqueue",
    "Flow",
    "FlowJournalRow",
    "FlowSet",
    "FlowSetInvalid",
    "Hangup",
    "HttpLookup",
    "Interpreter",
    "IvrInput",
    "LookupFailed",
    "LookupResult",
    "NoFlowForDid",
    "Outcome",
    "Play",
    "PlaybackFinished",
    "Pos",
    "Problem",
    "QueueAnswered",
    "QueueExited",
    "SetLanguage",
    "StartTimer",
    "StopPlayback",
    "TimerExpired",
    "Transfer",
    "TransferCompleted",
    "TransferFailed",
    "Voicemail",
    "VoicemailFailed",
    "VoicemailRecorded",
    "Wait",
    "check_sources",
    "load_flowset",
    "load_flowset_files",
    "read_sources",
    "simulate_main",
    "validate_main",
]
