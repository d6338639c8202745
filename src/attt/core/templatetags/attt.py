import datetime

from django import template
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()
MULTIPLE_SHOWN = 8  # options of a multiple choice in sight at once (browsers show 4)
LONG_WORD = 24  # characters: longer than any word of a name or a status, shorter than a hash or most URLs


@register.filter
def control(field):
    """Render a form field with Bootstrap classes and the ARIA attributes screen readers need."""
    widget = field.field.widget
    css = "form-select" if getattr(widget, "input_type", None) == "select" else "form-control"
    attrs = {"class": css + (" is-invalid" if field.errors else "")}
    if field.help_text:
        attrs["aria-describedby"] = f"{field.auto_id}_help"
    if field.errors:
        attrs["aria-invalid"] = "true"
    if getattr(widget, "allow_multiple_selected", False) and not isinstance(widget.choices, ModelChoiceIterator):
        # every fixed choice in sight, up to MULTIPLE_SHOWN; choices from a query are not read twice
        attrs["size"] = str(min(len(list(widget.choices)), MULTIPLE_SHOWN))
    return field.as_widget(attrs=attrs)


@register.filter
def cell(value, style: str = ""):
    """A table cell: booleans as icons with text for screen readers, dates localised; `short` ("…|cell:'short'",
    a list's many rows): dates in the language's short numeric form."""
    if value is True:
        return mark_safe(
            '<i class="bi bi-check-lg text-success" aria-hidden="true"></i><span class="visually-hidden">✓</span>'
        )
    if value is False:
        return mark_safe(
            '<i class="bi bi-x-lg text-secondary" aria-hidden="true"></i><span class="visually-hidden">✗</span>'
        )
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if style == "short" and isinstance(value, datetime.date):
        timed = isinstance(value, datetime.datetime)
        return date_format(value, "SHORT_DATETIME_FORMAT" if timed else "SHORT_DATE_FORMAT")
    if isinstance(value, str) and any(len(word) > LONG_WORD for word in value.split()):
        # a URL, a hash, an address list: may break anywhere rather than widen its column past the page
        return format_html('<span class="break-anywhere">{}</span>', value)
    return localize(value)


@register.simple_tag
def version_input(form) -> str:
    """The hidden input that sends back the version of the record a change form showed (`core.locks`): a change
    made on a page opened before someone else saved the record is then refused instead of undoing theirs. A
    form shown again (an error) keeps the version first shown, `form.read_version`: the person has still not
    seen the other change. Nothing for a new record or a form without one."""
    from django.utils.html import format_html

    from attt.core.locks import VERSION_FIELD, version_of

    instance = getattr(form, "instance", None)  # pages also show plain forms
    if instance is None or instance._state.adding:
        return ""
    version = getattr(form, "read_version", "") or version_of(instance)
    return format_html('<input type="hidden" name="{}" value="{}">', VERSION_FIELD, version) if version else ""
