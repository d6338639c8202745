"""The incident-response data files (data/<REGIME>/incidents.yaml) load, cite real instruments, and bad data is
refused with the file and the path named."""

from pathlib import Path

import pytest

from attt.regulation import incidents, services
from attt.regulation.errors import DataError, UnknownRegime


@pytest.mark.parametrize("regime", ["ND85_2016", "ND331_2026"])
def test_every_regime_has_incident_rules(regime):
    policy = services.incident_policy(regime)
    assert policy.regime == regime and policy.deadlines
    assert {"notification", "initial_report", "closure_report", "member_report"} <= set(policy.forms)
    assert all(d.legal_basis for d in policy.deadlines)


def test_the_regime_in_force_is_the_default():
    import datetime

    assert services.incident_policy(on=datetime.date(2026, 3, 1)).regime == "ND85_2016"
    assert services.incident_policy(on=datetime.date(2026, 9, 1)).regime == "ND331_2026"


def test_bad_data_names_the_file_and_path(tmp_path: Path):
    good = (incidents.DATA_DIR / "ND85_2016" / "incidents.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "incidents.yaml"
    bad.write_text(good.replace("unit: days", "unit: fortnights", 1), encoding="utf-8")
    with pytest.raises(DataError, match=r"deadlines\[0\]\.unit"):
        incidents.load_policy(bad, "ND85_2016/incidents.yaml")
    bad.write_text(
        good.replace("form: closure_report", "form: member_report", 1).replace(
            "  - code: member_report\n", "  - code: member_reportx\n", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(DataError):
        incidents.load_policy(bad, "ND85_2016/incidents.yaml")
    with pytest.raises(UnknownRegime):
        incidents.policy("XX_1999")
