import pytest

from attt.intel import services as intel


@pytest.fixture
def fake_intel(monkeypatch):
    """intel's functions until that module is built: what incidents hands over is recorded."""
    calls = {}

    def to_stix(report):
        calls["stix"] = report
        return {"type": "bundle", "id": f"bundle--{report.id}", "objects": [{"type": "report", "name": report.title}]}

    def to_misp(report):
        calls["misp"] = report
        return {"Event": {"uuid": str(report.id), "info": report.title}}

    def publish(report, *, organization, collection=None):
        calls["publish"] = (report, organization)
        return len(report.observables)

    monkeypatch.setattr(intel, "to_stix_bundle", to_stix)
    monkeypatch.setattr(intel, "to_misp_event", to_misp)
    monkeypatch.setattr(intel, "publish", publish)
    monkeypatch.setattr(
        intel,
        "attack_techniques",
        lambda: [("T1566", "Phishing", ["initial-access"]), ("T1486", "Data Encrypted for Impact", ["impact"])],
    )
    return calls
