"""Agents' PJSIP endpoints, created in Asterisk over ARI (memory objects: redone on every connect).

The fields are the ones documented in pjsip/pjsip.conf ("Agents").
"""

from __future__ import annotations

import logging

from pbx_stasis.acd.directory import AgentRecord
from pbx_stasis.ari import AriClient, AriError

log = logging.getLogger(__name__)

CONFIG_CLASS = "res_pjsip"
# A phone whose audio stops (browser closed, network cut, desk phone unplugged) must not keep a
# conversation, and with it the agent, for ever: Asterisk ends the call after this long without
# RTP (ten times longer while the phone holds the call), or when session refreshes (RFC 4028)
# go unanswered. The same values as the trunk's in pjsip/pjsip.conf.
DEAD_CALL_TIMERS = {
    "rtp_timeout": "60",
    "rtp_timeout_hold": "600",
    "timers": "yes",
    "timers_min_se": "90",
    "timers_sess_expires": "1800",
}


# How often a node asks a softphone registered at the SIP edge whether it is there (OPTIONS
# through the edge, which drops those for agents not registered: the node sees them offline).
EDGE_QUALIFY_S = "10"


def endpoint_objects(
    agent: AgentRecord, edge: str | None = None
) -> list[tuple[str, dict[str, str]]]:
    """(object type, fields) in the order Asterisk needs them: auth and aor before endpoint.

    Every agent's endpoint has a digest auth with the agent's own random password, a desk phone's
    too: Asterisk identifies callers by the From user first, so without it anyone who can reach
    the SIP port could call out as `agent-<id>`. The auth only challenges requests from the
    phone; calls to a desk phone at its contact are not affected.

    With a SIP edge (`edge`: its host:port), softphones register there, not with a node: every
    node reaches the agent at `sip:<endpoint>@<edge>` (over UDP; the browser's DTLS-SRTP media
    still comes straight to the node), and learns whether they are there by qualifying that
    contact. A desk phone's contact is its own (the edge's, when it registers there).
    """
    callerid = f'"{agent.name}" <{agent.extension}>'
    auth = ("auth", {"auth_type": "userpass", "username": agent.endpoint,
                     "password": agent.sip_password})
    if agent.contact:  # a desk phone at a fixed address
        return [
            auth,
            ("aor", {"contact": agent.contact}),
            (
                "endpoint",
                {
                    "context": "from-agents",
                    "transport": "transport-udp",
                    "disallow": "all",
                    "allow": "ulaw,alaw",
                    "direct_media": "no",
                    "dtmf_mode": "rfc4733",
                    "rtp_symmetric": "yes",
                    "auth": agent.endpoint,
                    "aors": agent.endpoint,
                    "callerid": callerid,
                    **DEAD_CALL_TIMERS,
                },
            ),
        ]
    if edge:
        aor = {"contact": f"sip:{agent.endpoint}@{edge}", "qualify_frequency": EDGE_QUALIFY_S}
        transport = {"transport": "transport-udp"}
    else:
        aor, transport = {"max_contacts": "1", "remove_existing": "yes"}, {}
    return [
        auth,
        ("aor", aor),
        (
            "endpoint",
            {
                **transport,
                "context": "from-agents",
                "disallow": "all",
                "allow": "opus,ulaw",
                "webrtc": "yes",
                "dtls_auto_generate_cert": "yes",
                "direct_media": "no",
                "dtmf_mode": "rfc4733",
                "auth": agent.endpoint,
                "aors": agent.endpoint,
                "callerid": callerid,
                **DEAD_CALL_TIMERS,
            },
        ),
    ]


async def provision(ari: AriClient, agent: AgentRecord, *, edge: str | None = None) -> None:
    for object_type, fields in endpoint_objects(agent, edge):
        if object_type == "aor":
            await _drop_stale_contact(ari, agent.endpoint, fields.get("contact", ""))
        if object_type == "endpoint":
            await _drop_other_kind(ari, agent.endpoint, webrtc=fields.get("webrtc") == "yes")
        await ari.asterisk.update_config(CONFIG_CLASS, object_type, agent.endpoint, fields)


async def _drop_other_kind(ari: AriClient, endpoint: str, *, webrtc: bool) -> None:
    """An update merges fields into the object: a softphone agent turned desk phone would keep
    what `webrtc=yes` implied (DTLS-SRTP, ICE, AVPF), and the phone would get encrypted media
    it cannot read (no audio). Delete the endpoint when it is of the other kind. The same name
    comes back for another agent too: endpoint ids are user ids, and a new database (a test, a
    reinstall) gives them out again while Asterisk keeps its memory objects."""
    try:
        current = await ari.asterisk.get_config(CONFIG_CLASS, "endpoint", endpoint)
    except AriError as exc:
        if exc.status == 404:
            return
        raise
    encryption = {t["value"] for t in current if t["attribute"] == "media_encryption"}
    if encryption and encryption != ({"dtls"} if webrtc else {"no"}):
        await ari.asterisk.delete_config(CONFIG_CLASS, "endpoint", endpoint)


async def _drop_stale_contact(ari: AriClient, endpoint: str, contact: str) -> None:
    """An update adds a static contact to an aor instead of replacing it: a desk phone that
    moved would then ring at both addresses. Delete the aor when its contact changed."""
    try:
        current = await ari.asterisk.get_config(CONFIG_CLASS, "aor", endpoint)
    except AriError as exc:
        if exc.status == 404:
            return
        raise
    contacts = {t["value"] for t in current if t["attribute"] == "contact" and t["value"]}
    if contacts and contacts != {contact}:
        await ari.asterisk.delete_config(CONFIG_CLASS, "aor", endpoint)


async def provision_all(
    ari: AriClient, agents: list[AgentRecord], *, edge: str | None = None
) -> int:
    """Provision every agent; one failure is logged and does not stop the others."""
    done = 0
    for agent in agents:
        try:
            await provision(ari, agent, edge=edge)
            done += 1
        except AriError as exc:
            log.error(
                "cannot provision endpoint %s for agent %s: %s", agent.endpoint, agent.username, exc
            )
    return done
