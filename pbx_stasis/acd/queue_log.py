"""Journal rows as Asterisk queue_log lines, so existing queue report tools can read them.

A line is `epoch|callid|queue|agent|EVENT|data1|data2|...`, with app_queue's data per event:

    ENTERQUEUE       url|callerid|position
    CONNECT          holdtime|bridged channel uniqueid|ringtime
    COMPLETECALLER   holdtime|calltime|origposition   (and COMPLETEAGENT)
    ABANDON          position|origposition|waittime   (and EXITWITHTIMEOUT, EXITEMPTY)
    RINGNOANSWER     ringtime in ms                    (and RINGCANCELED)
    BLINDTRANSFER    extension|context|holdtime|calltime|origposition
    ATTENDEDTRANSFER method|data|holdtime|calltime|origposition
    PAUSE / UNPAUSE  reason (PAUSEALL / UNPAUSEALL with queue NONE for an agent in no queue)
    ADDMEMBER / REMOVEMEMBER (our LOGIN / LOGOUT)

Times are whole seconds (ms for ring times), callid/queue/agent are "NONE" when absent. Rows
app_queue never writes (OFFER, HOLD, UNHOLD, WRAPUPSTART, WRAPUPEND, and the JOINEMPTY and FULL
that Wazo's Asterisk writes) are left out unless `extensions=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from pbx_stasis.acd.actions import JournalRow

AgentLabel = Callable[[str], str]


def queue_log_line(
    event: str,
    at: float,
    call_id: str | None,
    queue: str | None,
    agent: str | None,
    data: Mapping[str, object],
    *,
    extensions: bool = False,
) -> str | None:
    """One queue_log line (without newline), or None for a row app_queue has no line for."""
    formatted = _format(event, queue, data, extensions)
    if formatted is None:
        return None
    name, fields = formatted
    head = [str(int(at)), call_id or "NONE", queue or "NONE", agent or "NONE", name]
    return "|".join(_clean(part) for part in (*head, *fields))


def journal_line(
    row: JournalRow, *, agent_label: AgentLabel | None = None, extensions: bool = False
) -> str | None:
    """The line for a core journal row; `agent_label` maps agent ids to member names."""
    agent = row.agent_id
    if agent is not None and agent_label is not None:
        agent = agent_label(agent)
    return queue_log_line(
        row.event, row.at, row.call_id, row.queue, agent, row.data, extensions=extensions
    )


def journal_lines(
    rows: Iterable[JournalRow], *, agent_label: AgentLabel | None = None, extensions: bool = False
) -> Iterator[str]:
    for row in rows:
        line = journal_line(row, agent_label=agent_label, extensions=extensions)
        if line is not None:
            yield line


def _format(
    event: str, queue: str | None, data: Mapping[str, object], extensions: bool
) -> tuple[str, list[str]] | None:
    def secs(key: str) -> str:
        value = data.get(key)
        return str(round(value)) if isinstance(value, int | float) else "0"

    def text(key: str) -> str:
        value = data.get(key)
        return "" if value is None else str(value)

    if data.get("outbound") is True and not extensions:
        return None  # an agent's own outside call: app_queue's log has no such call
    if event == "ENTERQUEUE":
        return event, ["", text("caller"), secs("position")]
    if event == "CONNECT":
        return event, [secs("wait"), text("agent_channel"), secs("ring")]
    if event in ("COMPLETECALLER", "COMPLETEAGENT"):
        return event, [secs("wait"), secs("talk"), secs("orig_position")]
    if event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
        return event, [secs("position"), secs("orig_position"), secs("wait")]
    if event in ("RINGNOANSWER", "RINGCANCELED"):
        return event, [secs("ring_ms")]
    if event == "TRANSFER":
        tail = [secs("wait"), secs("talk"), secs("orig_position")]
        if data.get("kind") == "attended":
            return "ATTENDEDTRANSFER", ["BRIDGE", text("target"), *tail]
        return "BLINDTRANSFER", [text("target"), "", *tail]
    if event in ("PAUSE", "UNPAUSE"):
        return (event if queue is not None else event + "ALL"), [text("reason")]
    if event == "LOGIN":
        return "ADDMEMBER", [""]
    if event == "LOGOUT":
        return "REMOVEMEMBER", [""]
    if not extensions:
        return None
    if event == "OFFER":
        return event, [secs("timeout")]
    if event in ("WRAPUPSTART", "WRAPUPEND"):
        return event, [secs("seconds")]
    # Callbacks (no app_queue event): the number, then where it stands.
    if event == "CALLBACKREQ":
        return event, [text("number"), secs("position"), secs("wait")]
    if event == "CALLBACKQUEUED":
        return event, [text("number"), secs("position"), secs("attempts")]
    if event in ("CALLBACKDIAL", "CALLBACKCONNECT"):
        return event, [text("number"), secs("attempt"), secs("wait")]
    if event == "CALLBACKFAIL":
        return event, [text("reason"), secs("attempt"), "final" if data.get("final") else "retry"]
    if event == "CALLBACKCANCEL":
        return event, [secs("wait")]
    return event, []


def _clean(field: str) -> str:
    # A caller id or pause reason must not split or end a line.
    return field.replace("|", "_").replace("\r", " ").replace("\n", " ")
