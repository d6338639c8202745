"""The level-dossier state machine: which step may follow which, who takes it, and its legal timer.

Who takes a step depends on the level and the regime (regulation data: authorities.yaml); the time the
next step may take comes from the same data (timers.yaml). Each step is audited and notified.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from attt.compliance.models import DossierState as S


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    actor: str  # whose step: "owner" (the dossier's preparer), "appraiser" or "approver" of the level
    timer: str | None = None  # the regulation timer started for the next step
    needs_comment: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("submit", _("Submit"), (S.DRAFT, S.RETURNED), S.SUBMITTED, "owner", timer="completeness_check"),
        Transition(
            "return_incomplete", _("Return as incomplete"), (S.SUBMITTED,), S.RETURNED, "appraiser", needs_comment=True
        ),
        Transition("accept", _("Accept for appraisal"), (S.SUBMITTED,), S.APPRAISAL, "appraiser", timer="appraisal"),
        Transition(
            "appraise",
            _("Record the appraisal opinion"),
            (S.APPRAISAL,),
            S.APPRAISED,
            "appraiser",
            timer="approval",
            needs_comment=True,
        ),
        Transition(
            "return", _("Return with comments"), (S.APPRAISAL, S.APPRAISED), S.RETURNED, "appraiser", needs_comment=True
        ),
        Transition("approve", _("Approve"), (S.APPRAISED,), S.APPROVED, "approver"),
        Transition("withdraw", _("Withdraw"), (S.DRAFT, S.RETURNED, S.SUBMITTED), S.WITHDRAWN, "owner"),
    ]
}


def available(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.sources]
