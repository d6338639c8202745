"""The catalogue read through services: requirements, authorities, checks, reports."""

import datetime as dt

import pytest

from attt.regulation import services

REQUIREMENT_COUNTS = {
    "ND85_2016": {1: 38, 2: 50, 3: 71, 4: 73, 5: 75},
    "ND331_2026": {1: 37, 2: 49, 3: 70, 4: 72, 5: 74},
}


@pytest.mark.parametrize("regime", REQUIREMENT_COUNTS)
def test_requirement_rows_per_level(regime):
    counts = {level: len(services.requirements(regime, level)) for level in range(1, 6)}
    assert counts == REQUIREMENT_COUNTS[regime]


@pytest.mark.parametrize(
    ("category", "counts"),
    [
        # Circular 12/2022 Annexes I–V: management sub-items (+2 plans), zones, design measures, configuration.
        ("management", {1: 13 + 2, 2: 16 + 2, 3: 20 + 2, 4: 20 + 2, 5: 20 + 2}),
        ("network_zones", {1: 3, 2: 5, 3: 7, 4: 8, 5: 8}),
        ("design", {1: 3, 2: 6, 3: 16, 4: 17, 5: 19}),
        ("configuration", {1: 13, 2: 17, 3: 21, 4: 21, 5: 21}),
    ],
)
def test_circular_12_line_items_per_level(category, counts):
    for level, expected in counts.items():
        rows = services.requirements("ND85_2016", level)
        if category == "management":
            found = [r for r in rows if r.group == "management" and r.category.code != "general"]
        else:
            found = [r for r in rows if r.category.code == category]
        assert len(found) == expected, (category, level)


def test_configuration_areas_at_level_three():
    rows = [r for r in services.requirements("ND85_2016", 3) if r.category.code == "configuration"]
    areas = [r.area for r in rows]
    assert (areas.count("network"), areas.count("server"), areas.count("application"), areas.count("data")) == (
        6,
        6,
        6,
        3,
    )


def test_rows_read_at_a_level_carry_their_place_in_that_level():
    logging2 = services.requirement("ND85_2016", "network_logging", level=2)
    logging3 = services.requirement("ND85_2016", "network_logging", level=3)
    assert (logging2.item, logging2.clause) == ("II.2.1.1.3", "6.2.1.4")
    assert (logging3.item, logging3.clause) == ("II.2.1.1.3", "7.2.1.4")
    row = services.requirement("ND85_2016", "M.OPS.INCIDENT")
    assert row.level is None and (row.min_level, row.max_level) == (2, 5)


def test_vulnerability_management_is_found_by_key_in_both_regimes():
    for regime in ("ND85_2016", "ND331_2026"):
        row = services.requirement(regime, "vulnerability_management")
        assert (row.code, row.min_level, row.max_level, row.group) == ("M.OPS.VULN", 3, 5, "management")
        assert row in services.requirements(regime, 3) or any(
            r.code == row.code for r in services.requirements(regime, 3)
        )
        assert not any(r.key == "vulnerability_management" for r in services.requirements(regime, 2))
    assert not services.requirement("ND85_2016", "vulnerability_management").unverified
    assert services.requirement("ND331_2026", "vulnerability_management").unverified


def test_a_key_with_variants_per_level_needs_the_level():
    with pytest.raises(services.RegulationLookupError, match="pass level"):
        services.requirement("ND85_2016", "remote_administration")
    assert services.requirement("ND85_2016", "remote_administration", level=5).code == "T.DES.REMOTE_ADMIN.5"
    with pytest.raises(services.RegulationLookupError):
        services.requirement("ND85_2016", "privileged_access_management", level=3)
    with pytest.raises(services.RegulationLookupError):
        services.requirements("ND85_2016", 6)


def test_cloud_separation_differs_between_regimes():
    old = services.requirement("ND85_2016", "hosted_separation", level=4)
    new = services.requirement("ND331_2026", "hosted_separation", level=4)
    assert old.code == "G.HOSTED.PHYSICAL" and new.code == "G.HOSTED.LOGICAL"
    assert not new.unverified and new.source[0].cite("en") == "Decree 331/2026/ND-CP Art 30.8"


def test_decree_331_rows_from_circular_12_are_unverified():
    rows = services.requirements("ND331_2026", 3)
    carried = [r for r in rows if not r.code.startswith("G.")]
    assert carried and all(r.unverified for r in carried)
    assert all(r.derived_from and r.derived_from[0].instrument.code == "TT12_2022" for r in carried)
    assert "Decree 85" not in " ".join(r.text_en for r in rows)
    assert "Nghị định số 85" not in " ".join(r.text_vi for r in rows)


def test_authorities_per_level_and_the_national_security_path():
    old4 = services.authority("ND85_2016", 4)
    assert [r.actor.code for r in old4.appraises] == [
        "national_authority",
        "ministry_of_defence",
        "ministry_of_public_security",
    ]
    assert old4.expert_opinion[0].actor.code == "specialised_unit"
    assert "Thông tin và Truyền thông" in old4.appraises[0].actor.label_vi
    new4 = services.authority("ND331_2026", 4)
    assert "Bộ Công an" in new4.appraises[0].actor.label_vi
    assert [r.actor.code for r in services.authority("ND331_2026", 1).approves] == ["specialised_unit"]
    assert [r.actor.code for r in services.authority("ND331_2026", 3).approves] == ["owner"]
    nsi = services.authority("ND331_2026", 3, national_security_important=True)
    assert nsi.via_level == 5 and nsi.level == 3 and nsi.approves[0].actor.code == "prime_minister"
    assert services.authority("ND85_2016", 3, national_security_important=True).via_level is None


def test_national_authority_names_are_data():
    old = services.get_regime("ND85_2016")
    assert old.national_authority(dt.date(2020, 1, 1)).department_code == "AIS"
    assert old.national_authority(dt.date(2025, 6, 1)).department_code == "A05"
    new = services.get_regime("ND331_2026")
    assert new.national_authority().ministry_vi == "Bộ Công an"


def test_check_intervals():
    assert [services.check_interval_months("ND85_2016", lvl) for lvl in range(1, 6)] == [24, 24, 12, 12, 6]
    assert services.check_interval_months("ND85_2016", 3, "organisation_wide_check") == 24
    assert services.check_interval_months("ND331_2026", 5, "vulnerability_scan") == 3
    assert services.check_policy("ND331_2026", 5, "vulnerability_scan").critical_assets_months == 1
    assert services.check_interval_months("ND331_2026", 2, "penetration_test") is None
    assert services.check_policy("ND331_2026", 3).unverified
    assert not services.check_policy("ND85_2016", 3).unverified
    assert services.retention("ND331_2026", 4, "log_retention").months == 6
    assert services.retention("ND85_2016", 3, "monitoring_retention").days == 30
    with pytest.raises(services.RegulationLookupError, match="retention"):
        services.check_interval_months("ND331_2026", 4, "log_retention")
    with pytest.raises(services.RegulationLookupError):
        services.check_interval_months("ND85_2016", 3, "penetration_test")


def test_longest_retention_is_counted_in_days():
    longest = services.longest_retention("ND331_2026")
    assert (longest.kind, longest.level, longest.retention_days) == ("log_retention", 5, 365) and longest.unverified
    assert services.longest_retention("ND85_2016").retention_days == 30
    assert [services.retention("ND331_2026", n, "log_retention").retention_days for n in (2, 3, 4)] == [31, 92, 183]
    assert services.check_policy("ND331_2026", 3).retention_days is None  # an interval


def test_reports_windows_and_deadlines():
    annual = services.report_policy("ND331_2026", "annual")
    assert annual.form_code == "Mẫu 08" and len(annual.sections) == 12 and len(annual.form_columns) == 12
    assert len(services.report_policy("ND85_2016", "annual").sections) == 11
    assert services.report_period("ND85_2016", "annual", 2025) == (dt.date(2024, 12, 15), dt.date(2025, 12, 14))
    deadlines = services.report_deadlines("ND331_2026", "annual", 2026)
    assert [(d.recipient.code, day) for d, day in deadlines] == [
        ("owner", dt.date(2026, 12, 19)),
        ("national_authority", dt.date(2026, 12, 24)),
    ]
    monthly = services.report_deadlines("ND85_2016", "monthly_status", 2024, 12)
    assert [day for _, day in monthly] == [dt.date(2025, 1, 19)]
    assert services.report_period("ND85_2016", "monthly_status", 2024, 2) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert services.report_policy("ND331_2026", "monthly_status").unverified
    with pytest.raises(services.RegulationLookupError):
        services.report_deadlines("ND85_2016", "monthly_status", 2024)
    with pytest.raises(services.RegulationLookupError):
        services.report_policy("ND85_2016", "weekly")


def test_fact_definitions_follow_the_regime():
    assert "online_public_service_level" in services.fact_definitions("ND85_2016")
    assert "online_public_service_level" not in services.fact_definitions("ND331_2026")
    assert "data_subjects_basic" in services.fact_definitions("ND331_2026")
    assert len(services.fact_definitions()) == 17
