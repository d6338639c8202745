from django.utils.translation import gettext as _

from attt.core.audit import ChainReport, verify_chain
from attt.core.models import Notification
from attt.core.services.notifications import notify_permission_holders


def verify_and_alert() -> ChainReport:
    """Daily job: verify the audit chain and warn the national administrators if it is broken."""
    report = verify_chain()
    if not report.ok:
        notify_permission_holders(
            "core.auditevent.view",
            None,
            title=_("The audit log chain is broken at event #%(seq)s") % {"seq": report.broken_seq},
            body=report.reason,
            level=Notification.Level.DANGER,
        )
    return report
