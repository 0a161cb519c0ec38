"""Seed the demo: a tenant with one user of each role, its outbound numbers (the support and
sales lines, which its outside calls present), queues, agents, contacts with their custom fields,
a few tickets, call scripts, the example IVR flow and its English/Arabic prompts, outbound
work: a lead list with a few call tasks, compliance settings (calling hours) and a do-not-call
entry, and the analytics rules with an evaluation scorecard. Idempotent; prints the logins.

    python -m pbx_stasis.demo seed
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.callscripts.core import Objection, ScriptBody
from pbx_stasis.callscripts.service import CallScripts
from pbx_stasis.config import load_settings
from pbx_stasis.crm.contacts import ContactDraft, Contacts
from pbx_stasis.crm.dispositions import Dispositions
from pbx_stasis.crm.field_store import ContactFieldStore
from pbx_stasis.crm.fields import FieldKind, FieldSpec
from pbx_stasis.crm.phones import numbering
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIds, OutboundNumber
from pbx_stasis.dialing.compliance import checked_rules
from pbx_stasis.dialing.compliance_store import Compliance
from pbx_stasis.dialing.tables import ComplianceRow
from pbx_stasis.ivr import load_flowset_files
from pbx_stasis.ivr.service import IvrService
from pbx_stasis.leads.service import Leads, TaskDraft
from pbx_stasis.store import AlreadyExists, Database, Directory, utc_now
from pbx_stasis.tickets.core import Priority
from pbx_stasis.tickets.service import TicketDraft, Tickets
from pbx_stasis.virtualnumbers.service import PoolNumber, VirtualNumbers
from pbx_stasis.web.passwords import hash_password

EXAMPLE_FLOW = Path(__file__).resolve().parent.parent / "examples" / "ivr" / "support.yaml"
LOGINS_FILE = Path("var/demo-logins.json")

# The analytics rules (keyword categories, lead score) and the scorecard the demo's supervisors
# evaluate recorded calls with: the greeting and closing questions answer themselves from the
# categories, the listening one from the interruptions; verifying the caller is critical.
ANALYTICS_RULES = {
    "categories": [
        {"name": "greeting", "phrases": ["good morning", "good afternoon", "how can i help"],
         "speaker": "agent"},
        {"name": "closing", "phrases": ["anything else", "thank you for calling"],
         "speaker": "agent"},
        {"name": "buying", "phrases": ["buy", "price", "quote"], "speaker": "customer"},
        {"name": "cancel", "phrases": ["cancel", "refund"], "speaker": "customer"},
    ],
    "lead": {"category_points": {"buying": 60, "cancel": -40}, "positive_points": 10,
             "negative_points": -10, "outcome_points": {"Sale": 40}, "threshold": 50},
}
SCORECARD = {
    "name": "Customer call quality",
    "description": "How the agent opened, handled and closed the call.",
    "sections": [
        {"title": "Opening", "questions": [
            {"id": "greeting", "text": "Greeted the customer", "kind": "yes-no", "weight": 2,
             "auto": {"category": "greeting"}},
            {"id": "verified", "text": "Verified the caller's identity", "kind": "yes-no",
             "weight": 2, "critical": True},
        ]},
        {"title": "Conversation", "questions": [
            {"id": "listening", "text": "Let the customer speak (2 interruptions at most)",
             "kind": "yes-no", "weight": 1,
             "auto": {"figure": "interruptions", "at_most": 2}},
            {"id": "tone", "text": "Tone and courtesy", "kind": "scale", "scale": 5,
             "weight": 3},
            {"id": "resolution", "text": "Outcome of the customer's request", "kind": "choice",
             "weight": 3, "choices": [{"label": "Resolved", "score": 100},
                                      {"label": "Escalated", "score": 50},
                                      {"label": "Unresolved", "score": 0}]},
        ]},
        {"title": "Closing", "questions": [
            {"id": "closing", "text": "Offered more help before ending", "kind": "yes-no",
             "weight": 1, "auto": {"category": "closing"}},
        ]},
    ],
}

# A second scorecard, for sales calls, with what the first leaves out: a category that must
# never be said (`found: false`), a figure with a floor (`at_least`), a 0-10 scale and a critical
# choice.
SALES_SCORECARD = {
    "name": "Sales call",
    "description": "Did the agent find the need, keep the customer positive and close?",
    "sections": [
        {"title": "Discovery", "questions": [
            {"id": "price-talk", "text": "Talked about price or a quote", "kind": "yes-no",
             "weight": 2, "auto": {"category": "buying"}},
            {"id": "needs", "text": "Understanding of the customer's needs", "kind": "scale",
             "scale": 10, "weight": 4},
        ]},
        {"title": "Outcome", "questions": [
            {"id": "no-cancel", "text": "No cancellation or refund came up", "kind": "yes-no",
             "weight": 1, "auto": {"category": "cancel", "found": False}},
            {"id": "positive", "text": "The customer stayed positive", "kind": "yes-no",
             "weight": 2, "auto": {"figure": "sentiment.customer", "at_least": 0}},
            {"id": "next-step", "text": "Next step agreed", "kind": "choice", "weight": 3,
             "critical": True, "choices": [{"label": "Order placed", "score": 100},
                                           {"label": "Follow-up booked", "score": 60},
                                           {"label": "None", "score": 0}]},
        ]},
    ],
}
SCORECARDS = (SCORECARD, SALES_SCORECARD)

# username -> (role, display name)
USERS = {
    "alice": ("agent", "Alice Agent"),
    "bob": ("agent", "Bob Agent"),
    "sam": ("supervisor", "Sam Supervisor"),
    "maya": ("manager", "Maya Manager"),
    "adam": ("admin", "Adam Admin"),
}
# The example flow's lines (examples/ivr/support.yaml): outside calls present one of them.
SUPPORT_LINE, SALES_LINE = "+97145550100", "+97145550200"
# Virtual numbers (/admin/integrations): a pool, and a masked rider-driver pair on the first.
VIRTUAL_POOL = (PoolNumber("+97145550300", "Deliveries 1", "support"),
                PoolNumber("+97145550301", "Deliveries 2", "support"))
RIDER, DRIVER = "+971501230001", "+971502340002"
CALLER_IDS = CallerIds((OutboundNumber(SUPPORT_LINE, "Support line", default=True),
                        OutboundNumber(SALES_LINE, "Sales line")))
QUEUES = {
    "support": {"strategy": "longest-idle", "wrapup": 15, "announce_every": 30, "max_wait": 600,
                "caller_id": SUPPORT_LINE},
    "billing": {"strategy": "longest-idle", "wrapup": 15, "max_wait": 600,
                "caller_id": SUPPORT_LINE},
    "tech": {"strategy": "longest-idle", "wrapup": 15, "max_wait": 600,
             "escalation": [{"after": 30, "relax": 1}], "caller_id": SUPPORT_LINE},
    "sales": {"strategy": "round-robin", "wrapup": 10, "max_wait": 300,
              "caller_id": SALES_LINE},
}
AGENTS = {
    "alice": ({"support": 0, "billing": 0, "tech": 0, "sales": 1},
              {"billing": 2, "internet": 3, "mobile": 2, "lang_en": 5, "lang_ar": 3}),
    "bob": ({"support": 0, "sales": 0, "tech": 1},
            {"internet": 1, "mobile": 3, "lang_en": 5, "lang_ar": 5}),
}
# The outcomes an agent picks in wrap-up (name, needs a follow-up date).
DISPOSITIONS = [
    ("Resolved", False),
    ("Call back", True),
    ("Sale", False),
    ("Quote sent", True),
    ("Not interested", False),
    ("Wrong number", False),
    ("Escalated", False),
    ("Do not call", False),  # puts the number on the do-not-call list (COMPLIANCE)
]
# The contacts' custom fields an admin defined (the contact card's typed inputs).
CONTACT_FIELDS = [
    FieldSpec("account", FieldKind.TEXT),
    FieldSpec("plan", FieldKind.CHOICE, ("Home Fiber 300M", "Business Fiber 1G", "Mobile 5G")),
    FieldSpec("lines", FieldKind.NUMBER),
    FieldSpec("renewal", FieldKind.DATE),
]
# Outbound work: calling hours in the callee's time, the disposition that adds to the
# do-not-call list, a lead list (one bad row and one duplicate show in its import report),
# its tasks for Alice and a follow-up of Bob's, and a number that asked not to be called.
COMPLIANCE = {"hours": {"start": "09:00", "end": "21:00"}, "fallback_zone": "Asia/Dubai",
              "region": "AE", "dnc_dispositions": ["Do not call"]}
LEAD_LIST = "Fiber upgrade (demo)"
LEADS_CSV = """Customer,Phone,Current plan,Contract ends
Omar Farouk,050 123 4001,Home 250M,2027-01-31
Sara Nasser,+971 50 234 5002,Home 500M,2026-12-31
Karim Aziz,055 345 6003,Home 100M,2027-03-15
Layla Haddad,+971501234567,Business Fiber 1G,2027-06-30
Nadia Saleh,12345,Home 250M,
Sara Nasser (again),0502345002,Home 500M,2026-12-31
"""
DO_NOT_CALL = ("+971501112222", "asked not to be called (demo)")
CONTACTS = [
    ContactDraft(name="Layla Haddad", company="Gulf Shipping LLC",
                 phones=("+971501234567",), tags=("gold",),
                 custom_fields={"account": "12345678", "plan": "Business Fiber 1G", "lines": 12,
                                "renewal": "2027-03-31"}),
    ContactDraft(name="John Carter", company="Carter & Sons", phones=("+15551234567",),
                 tags=("new",), custom_fields={"account": "87654321", "plan": "Mobile 5G"}),
]
# Call scripts of the demo: (name, script).
SCRIPTS = [
    ("support", ScriptBody(
        headline="Support line", queues=("support", "tech"),
        opening="Hello {contact.name}, this is {agent.name} from Example Telecom support.",
        main_points=("Confirm the account: {contact.account}",
                     "Their plan: {contact.plan}; lines: {contact.lines}",
                     "Ask what changed since it last worked"),
        objections=(Objection(objection="I already called twice",
                              reply="I can see your earlier calls; I will stay on it with you."),),
        closing="Is there anything else I can do for you today?")),
    ("sales", ScriptBody(
        headline="Sales line", queues=("sales",),
        opening="Thank you for calling Example Telecom sales, {agent.name} speaking.",
        main_points=("Ask how many lines they need", "Offer Business Fiber 1G"),
        objections=(Objection(objection="Too expensive",
                              reply="The first three months are at half price."),),
        closing="I will email the quote to you right away.")),
]
# Tickets of the demo: (contact's phone or None, subject, priority, queue, assignee).
TICKETS = [
    ("+971501234567", "Fiber drops every evening", Priority.HIGH, "tech", "alice"),
    ("+971501234567", "Invoice shows two static IPs", Priority.MEDIUM, "billing", None),
    ("+15551234567", "Port two numbers from the old carrier", Priority.LOW, "sales", "bob"),
    (None, "Outage in Dubai Marina: tell affected callers", Priority.URGENT, "support", "sam"),
]


def _logins() -> dict[str, str]:
    if LOGINS_FILE.exists():
        saved: dict[str, str] = json.loads(LOGINS_FILE.read_text())
        return saved
    logins = {name: secrets.token_urlsafe(9) for name in USERS}
    LOGINS_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOGINS_FILE.write_text(json.dumps(logins, indent=2))
    LOGINS_FILE.chmod(0o600)
    return logins


async def seed() -> dict[str, str]:
    settings = load_settings()
    db = Database.connect(settings.database.url)
    try:
        users = Directory(db)
        tenant = await users.ensure_tenant(settings.calls.tenant, "Example Telecom")
        logins = _logins()
        ids: dict[str, int] = {}
        for name, (role, display) in USERS.items():
            try:
                user = await users.add_user(tenant.slug, name, role, display_name=display,
                                            password_hash=hash_password(logins[name]))
            except AlreadyExists:
                existing = await users.get_user(tenant.id, name)
                assert existing is not None
                user = existing
            ids[name] = user.id
        numbers = CallerIdStore(db)
        owned = await numbers.caller_ids(tenant.id)
        # An admin's own numbers (and default) are kept; the demo's queues need its lines.
        missing = tuple(replace(number, default=False) for number in CALLER_IDS.numbers
                        if not owned.owns(number.number))
        if not owned.numbers:
            await numbers.set_caller_ids(tenant.id, CALLER_IDS, by="demo")
        elif missing:
            await numbers.set_caller_ids(tenant.id, CallerIds(owned.numbers + missing),
                                         by="demo")
        acd = AcdDirectory(db)
        for queue, queue_settings in QUEUES.items():
            await acd.save_queue(tenant.id, queue, queue_settings)
        for name, (queues, skills) in AGENTS.items():
            await acd.save_agent(ids[name], queues=queues, skills=skills)
        await acd.save_agent(ids["sam"])  # a softphone to listen, whisper and barge with
        dispositions = Dispositions(db)
        for name, follow_up in DISPOSITIONS:
            if await dispositions.by_name(tenant.id, name) is None:
                await dispositions.create(tenant.id, name, requires_follow_up=follow_up)
        contacts = Contacts(db, numbering(settings.crm.region))
        for draft in CONTACTS:
            if not await contacts.by_phone(tenant.id, draft.phones[0]):
                await contacts.create(tenant.id, draft)
        fields = ContactFieldStore(db)
        if not await fields.for_tenant(tenant.id):
            await fields.replace(tenant.id, CONTACT_FIELDS)
        await _seed_tickets(db, tenant.id, contacts, ids)
        scripts = CallScripts(db)
        if not await scripts.current(tenant.id, with_retired=True):
            for name, script in SCRIPTS:
                await scripts.save(tenant.id, name, script, ids["adam"], utc_now())
        await _seed_outbound(db, tenant.id, ids)
        await _seed_evaluations(db, tenant.id, ids)
        await _seed_voicemails(db, tenant.id, settings.recordings.dir)
        await _seed_virtual_numbers(db, tenant.id)
        ivr = IvrService(db)
        active = await ivr.versions.active(tenant.id)
        if active is None:
            applied = await ivr.apply(
                tenant.id, [(EXAMPLE_FLOW.name, EXAMPLE_FLOW.read_text())], "demo",
                comment="example flow", check_sounds_on_asterisk=False)
            for problem in applied.problems:
                print(f"problem: {problem}", file=sys.stderr)
        _install_prompts()
        return logins
    finally:
        await db.dispose()


async def _seed_tickets(db: Database, tenant_id: int, contacts: Contacts,
                        ids: dict[str, int]) -> None:
    """The demo's tickets, once (a tenant with tickets keeps its own)."""
    from pbx_stasis.bus import Bus
    from pbx_stasis.crm.timeline import Viewer
    from pbx_stasis.store.tables import Role

    tickets = Tickets(db, Bus())  # nobody listens while seeding
    now = utc_now()
    if await tickets.search(tenant_id, Viewer(tenant_id, ids["adam"], Role.ADMIN), now, limit=1):
        return
    for phone, subject, priority, queue, assignee in TICKETS:
        found = await contacts.by_phone(tenant_id, phone) if phone else []
        await tickets.create(tenant_id, TicketDraft(
            subject=subject, priority=priority, queue=queue,
            assignee_user_id=ids[assignee] if assignee else None,
            contact_id=found[0].id if found else None,
        ), ids["adam"], now)
async def _seed_evaluations(db: Database, tenant_id: int, ids: dict[str, int]) -> None:
    """The analytics rules (unless an admin set some) and the demo's scorecards (each once,
    by name)."""
    from pbx_stasis.analytics.rules import AnalyticsRulesFields
    from pbx_stasis.analytics.store import AnalyticsStore
    from pbx_stasis.analytics.tables import AnalyticsRules
    from pbx_stasis.bus import Bus
    from pbx_stasis.evaluations.model import ScorecardFields
    from pbx_stasis.evaluations.service import Evaluations

    async with db.session() as session:
        has_rules = await session.get(AnalyticsRules, tenant_id) is not None
    if not has_rules:
        await AnalyticsStore(db).set_rules(tenant_id,
                                           AnalyticsRulesFields.model_validate(ANALYTICS_RULES))
    evaluations = Evaluations(db, Bus())  # nobody listens while seeding
    names = {card.name for card in await evaluations.scorecards(tenant_id)}
    for card in SCORECARDS:
        if card["name"] not in names:
            await evaluations.save_scorecard(tenant_id, ScorecardFields.model_validate(card),
                                             ids["adam"])


async def _seed_outbound(db: Database, tenant_id: int, ids: dict[str, int]) -> None:
    """Compliance settings (unless an admin set some), the do-not-call entry, the lead list
    with a task per lead for Alice, and a task of Bob's due tomorrow."""
    compliance = Compliance(db, "AE")
    async with db.session() as session:
        has_rules = await session.get(ComplianceRow, tenant_id) is not None
    if not has_rules:
        await compliance.set_rules(tenant_id, checked_rules(COMPLIANCE), by="demo")
    await compliance.add(tenant_id, [DO_NOT_CALL], source="demo", by="demo")
    leads = Leads.over(db, "AE")
    if any(item.name == LEAD_LIST for item in await leads.lists.lists(tenant_id)):
        return
    view, _ = await leads.lists.import_csv(tenant_id, LEADS_CSV, by="demo", region="AE",
                                           name=LEAD_LIST)
    now = utc_now()
    await leads.tasks.from_list(tenant_id, view.id, owner_user_id=ids["alice"],
                                owner_queue=None, due_at=now, priority=1, by="demo")
    await leads.tasks.create(tenant_id, TaskDraft(
        number="+15551234567", name="John Carter", due_at=now + timedelta(days=1),
        owner_user_id=ids["bob"], notes="send the quote, then call"), by="demo", source="hand")


# Two messages left as the example flow leaves them (its voicemail nodes' mailboxes), so a new
# team finds the voicemail inbox filled: (caller, mailbox queue, minutes ago, what they say).
VOICEMAILS = (
    ("+971501234567", "support", 35,
     "Hello, this is Layla Hassan. My home internet keeps dropping every evening. "
     "Please call me back on this number. Thank you."),
    ("+971559876543", "billing", 90,
     "Hi, it is Omar. I was charged twice on my last bill. Could someone call me back, please?"),
)


def _spoken(text: str) -> bytes:
    """`text` spoken by espeak-ng as 8 kHz mono WAV (as Asterisk records voicemail); a
    two-tone chime when espeak-ng or sox is missing."""
    import io
    import math
    import subprocess
    import tempfile
    import wave

    with tempfile.TemporaryDirectory(prefix="pbx-demo-vm-") as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "vm.wav"
        try:
            subprocess.run(["espeak-ng", "--stdin", "-v", "en", "-w", str(raw)], input=text,
                           text=True, capture_output=True, timeout=60, check=True)
            subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)],
                           capture_output=True, timeout=60, check=True)
            return out.read_bytes()
        except (OSError, subprocess.SubprocessError):
            pass
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(
            int(8000 * math.sin(2 * math.pi * (440 if i < 12000 else 660) * i / 8000))
            .to_bytes(2, "little", signed=True) for i in range(24000)))
    return buffer.getvalue()


async def _seed_virtual_numbers(db: Database, tenant_id: int) -> None:
    """A pool of two virtual numbers and a live masked pair: a rider and a driver who reach
    each other through +97145550300 for a day without seeing each other's number."""
    numbers = VirtualNumbers(db)
    if not await numbers.pool(tenant_id):
        await numbers.set_pool(tenant_id, VIRTUAL_POOL)
    if not await numbers.mappings(tenant_id, live_at=utc_now()):
        await numbers.create_mapping(tenant_id, RIDER, DRIVER, ttl=timedelta(days=1),
                                     virtual=VIRTUAL_POOL[0].number, reference="order 1042",
                                     by="demo")


async def _seed_voicemails(db: Database, tenant_id: int, directory: str) -> None:
    """The demo's voicemails, once (a tenant with voicemails keeps its own): each a call that
    ended in the IVR and its message in a queue's mailbox, new."""
    import uuid

    from sqlalchemy import select

    from pbx_stasis.recording.store import RecordingStore
    from pbx_stasis.recording.tables import Recording, RecordingKind
    from pbx_stasis.store.tables import Call, CallStatus, Direction

    async with db.session() as session:
        if await session.scalar(select(Recording.id).where(
                Recording.tenant_id == tenant_id, Recording.kind == RecordingKind.VOICEMAIL)
                .limit(1)):
            return
    store = RecordingStore(db, directory)
    now = utc_now()
    for caller, queue, minutes_ago, text in VOICEMAILS:
        started = now - timedelta(minutes=minutes_ago)
        call_id = uuid.uuid4().hex
        async with db.transaction() as tx:
            tx.add(Call(id=call_id, tenant_id=tenant_id, channel_id=f"demo-{call_id}",
                        linkedid=None, direction=Direction.INBOUND, from_number=caller,
                        to_number=SUPPORT_LINE, started_at=started, answered_at=started,
                        ended_at=started + timedelta(seconds=40), queue=None,
                        agent_user_id=None, status=CallStatus.ENDED))
        await store.keep(_spoken(text), name=f"pbx-vm-demo-{call_id[:8]}", fmt="wav",
                         tenant_id=tenant_id, call_id=call_id, kind=RecordingKind.VOICEMAIL,
                         started_at=started + timedelta(seconds=20), mailbox_kind="queue",
                         mailbox=queue)


def _install_prompts() -> None:
    """English and Arabic prompts of the example, spoken by espeak-ng, into the sandbox."""
    root = os.environ.get("PBX_SANDBOX_ROOT")
    if not root:
        print("note: PBX_SANDBOX_ROOT not set: IVR prompts not generated "
              "(pbx ivr prompts FILE --out DIR does it for any Asterisk)")
        return
    from pbx_stasis.ivr.cli import install_prompts

    flowset = load_flowset_files([EXAMPLE_FLOW])
    written = install_prompts(flowset, Path(root) / "usr/share/asterisk/sounds",
                              chroot=Path(root))
    if written:
        print(f"generated {len(written)} IVR prompts (espeak-ng) into the sandbox")


def main() -> int:
    if sys.argv[1:] != ["seed"]:
        print(__doc__)
        return 2
    logins = asyncio.run(seed())
    print("\nDemo logins (also in var/demo-logins.json):")
    for name, (role, _) in USERS.items():
        print(f"    {role:<11} {name:<6} password {logins[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
