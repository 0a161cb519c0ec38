"""The PJSIP objects the app creates for agents: every endpoint, a desk phone's too, demands the
agent's own digest credentials for what the phone sends (issue 11, finding 1)."""

from __future__ import annotations

import string

import pytest

from pbx_stasis.acd.directory import AgentRecord, new_sip_password
from pbx_stasis.acd.provision import endpoint_objects


def _agent(contact: str | None) -> AgentRecord:
    return AgentRecord(
        user_id=10, tenant_id=1, username="ann", name="Ann", endpoint="agent-10",
        sip_password="s3cret-of-ann", contact=contact, extension="1010", skills={}, queues={},
        wrapup=None,
    )


@pytest.mark.parametrize("contact", [None, "sip:agent-10@192.0.2.7:5060"],
                         ids=["webrtc", "desk-phone"])
def test_every_agent_endpoint_demands_the_agents_own_credentials(contact: str | None) -> None:
    objects = endpoint_objects(_agent(contact))
    kinds = [kind for kind, _ in objects]
    assert kinds == ["auth", "aor", "endpoint"]  # the order Asterisk resolves references in
    auth, endpoint = objects[0][1], objects[2][1]
    assert auth == {"auth_type": "userpass", "username": "agent-10", "password": "s3cret-of-ann"}
    assert endpoint["auth"] == "agent-10"
    assert endpoint["context"] == "from-agents"


def test_a_desk_phone_is_still_reached_at_its_contact() -> None:
    objects = dict(endpoint_objects(_agent("sip:agent-10@192.0.2.7:5060")))
    assert objects["aor"] == {"contact": "sip:agent-10@192.0.2.7:5060"}
    assert objects["endpoint"]["aors"] == "agent-10"


def test_sip_passwords_are_long_random_and_never_repeat() -> None:
    passwords = {new_sip_password() for _ in range(2000)}
    assert len(passwords) == 2000
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for password in passwords:
        assert len(password) >= 24 and set(password) <= alphabet  # 144 random bits, SIP-safe


@pytest.mark.parametrize("contact", [None, "sip:agent-10@192.0.2.7:5060"])
def test_a_dead_phone_ends_its_call(contact: str | None) -> None:
    """No RTP for a minute (ten on hold), or refreshes unanswered: Asterisk ends the call, so a
    phone gone silent never holds an agent for ever."""
    objects = dict(endpoint_objects(_agent(contact)))
    assert objects["endpoint"]["rtp_timeout"] == "60"
    assert objects["endpoint"]["rtp_timeout_hold"] == "600"
    assert objects["endpoint"]["timers"] == "yes"


def test_behind_the_sip_edge_a_softphone_is_reached_through_it() -> None:
    """Agents register at Kamailio (issue 17): every node dials them there, over UDP, and
    qualifies them through it (the edge drops probes of agents not registered)."""
    objects = dict(endpoint_objects(_agent(None), "10.0.0.5:5060"))
    assert objects["aor"] == {"contact": "sip:agent-10@10.0.0.5:5060", "qualify_frequency": "10"}
    assert objects["endpoint"]["transport"] == "transport-udp"
    assert objects["endpoint"]["webrtc"] == "yes"  # the media is the browser's still
    # a desk phone keeps its own contact (the edge's, when it registers there)
    desk = dict(endpoint_objects(_agent("sip:agent-10@10.0.0.5:5060"), "10.0.0.5:5060"))
    assert desk["aor"] == {"contact": "sip:agent-10@10.0.0.5:5060"}
