"""Reading a lead list from CSV: mapping, E.164, custom fields, and every row left out reported
by its line; files too big or without a number column refused whole."""

from __future__ import annotations

import pytest

from pbx_stasis.leads.importing import ImportRefused, read_leads

FILE = (
    "Customer;Phone;Plan;TZ\n"  # a spreadsheet that writes `;`
    "Ada Lovelace;(415) 555-0100;gold;\n"
    "Alan Turing;+44 20 7946 0958;silver;Europe/London\n"
    "\n"
    "Grace Hopper;415.555.0100;bronze;\n"  # the same number as line 2
    "Nobody;12;;\n"  # not a phone number
    "Edsger;+1 212 555 0100;;Mars/Olympus\n"  # not a time zone
    "Barbara;'+12125550199;platinum;\n"  # as this app's own CSV writes a + cell
)


def test_a_file_is_read_with_its_mapping_and_problems_by_line() -> None:
    report = read_leads(FILE, region="US", mapping={"number": "Phone", "time_zone": "TZ"})
    assert [(lead.line, lead.number, lead.name) for lead in report.leads] == [
        (2, "+14155550100", "Ada Lovelace"),
        (3, "+442079460958", "Alan Turing"),
        (8, "+12125550199", "Barbara"),
    ]
    assert report.leads[0].custom_fields == {"Plan": "gold"}
    assert report.leads[1].time_zone == "Europe/London"
    assert [(p.line, p.column) for p in report.invalid] == [(6, "number"), (7, "time_zone")]
    assert [(p.line, p.duplicate_of) for p in report.duplicates] == [(5, 2)]
    summary = report.summary()
    assert (summary["rows"], summary["imported"], summary["invalid"],
            summary["duplicates"]) == (6, 3, 2, 1)
    assert [p["line"] for p in summary["problems"]] == [5, 6, 7]
    assert summary["problems"][0]["message"] == "+14155550100 is also on line 2"


def test_usual_column_names_need_no_mapping_and_known_numbers_are_duplicates() -> None:
    text = "name,phone,notes\nAda,+14155550100,x\nAlan,+14155550101,\n"
    report = read_leads(text, region="US", known={"+14155550101": 7})
    assert [lead.number for lead in report.leads] == ["+14155550100"]
    assert report.duplicates[0].message == "+14155550101 is already in the list"
    assert report.leads[0].custom_fields == {"notes": "x"}


def test_a_national_number_is_read_in_the_tenants_region() -> None:
    report = read_leads("phone\n01 42 68 53 00\n", region="FR")
    assert report.leads[0].number == "+33142685300"
    assert read_leads("phone\n01 42 68 53 00\n", region="US").invalid[0].line == 2


@pytest.mark.parametrize(("text", "kwargs", "field"), [
    ("", {}, "csv"),
    ("name,email\nAda,a@b\n", {}, "mapping.number"),
    ("name,phone\n", {"mapping": {"number": "Tel"}}, "mapping.number"),
    ("name,phone\n", {"mapping": {"email": "name"}}, "mapping.email"),
    ("phone\n" + "+14155550100\n" * 11, {"max_rows": 10}, "csv"),
    ("phone\n" + "x" * 100, {"max_chars": 50}, "csv"),
    ("phone\n+1415\x00", {}, "csv"),
    (",".join(f"c{i}" for i in range(60)) + "\n", {}, "csv"),
])
def test_unusable_files_are_refused_naming_the_field(text: str, kwargs: dict[str, object],
                                                     field: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        read_leads(text, region="US", **kwargs)  # type: ignore[arg-type]
    assert set(refused.value.problems) == {field}


def test_the_row_limit_stops_reading_at_the_limit() -> None:
    text = "phone\n" + "".join(f"+1415555{i:04d}\n" for i in range(2000))
    with pytest.raises(ImportRefused) as refused:
        read_leads(text, region="US", max_rows=1000)
    assert refused.value.problems == {"csv": "has more than 1,000 rows: split it"}
