"""The event search's filters: one form read by the page (GET) and the API (query parameters), so both accept and
refuse the same input."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from attt.core import scoping
from attt.monitoring import services
from attt.monitoring.store import EventQuery, epoch_ms

TEXT_MAX = 200
LIMIT_MAX = 500


def _when(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("ISO 8601; without an offset, in the platform's time zone."),
    )


class EventSearchForm(forms.Form):
    since = _when(_("From"))
    until = _when(_("Until"))
    organization = forms.ModelChoiceField(label=_("Organisation (and its subtree)"), queryset=None, required=False)
    source = forms.ModelChoiceField(label=_("Event source"), queryset=None, required=False)
    system = forms.UUIDField(label=_("Information system (id)"), required=False)
    dataset = forms.CharField(label=_("Dataset"), required=False, max_length=TEXT_MAX)
    host = forms.CharField(label=_("Host"), required=False, max_length=TEXT_MAX)
    q = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=TEXT_MAX,
        help_text=_("Found in the event as received (any case); for syslog, CEF and EVTX events, in its document."),
    )
    limit = forms.IntegerField(label=_("Events shown"), required=False, min_value=1, max_value=LIMIT_MAX)

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = scoping.organizations_where(user, "monitoring.source.view").order_by(
            "name"
        )
        self.fields["source"].queryset = services.visible_sources(user).order_by("organization__name", "name")

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", _("Must be later than the start."))
        return data

    def query(self) -> EventQuery:
        """The store's query of a valid form."""
        data = self.cleaned_data
        return EventQuery(
            since_ms=_ms(data["since"]),
            until_ms=_ms(data["until"]),
            source_id=str(data["source"].pk) if data["source"] else None,
            system_id=str(data["system"]) if data["system"] else None,
            dataset=data["dataset"] or None,
            host=data["host"] or None,
            text=data["q"] or None,
        )


def _ms(value: dt.datetime | None) -> int | None:
    return None if value is None else epoch_ms(value)
