"""The registry's pages, built from core's generic views (scoping, 404 outside the subtree, audit)."""

import json
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from attt.core import scoping
from attt.core.models import Organization
from attt.core.views.generic import (
    Column,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    ScopedMixin,
)
from attt.registry import filtersets as f
from attt.registry import forms, services
from attt.registry.models import SYSTEM_FIELDS, Component, Contact, Domain, InformationSystem, IPRange, Server
from attt.registry.transfer import COLUMNS, ImportFileError, detect_format

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# --- Information systems ----------------------------------------------------------------------------------


class SystemListView(ObjectListView):
    model = InformationSystem
    queryset = InformationSystem.objects.select_related("organization", "operator")
    filterset_class = f.SystemFilterSet
    template_name = "registry/system_list.html"
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Owner"), "organization__name"),
        Column(gettext_lazy("Operating unit"), "operator__name"),
        Column(gettext_lazy("Type"), "system_type"),
        Column(gettext_lazy("Sector"), "priority_sector"),
        Column(gettext_lazy("Lifecycle"), "lifecycle_status"),
        Column(gettext_lazy("Internet-facing"), "internet_facing"),
    ]

    def get(self, request, *args, **kwargs):
        # Both exports use the import format, so a downloaded file can be edited and imported back.
        fmt = request.GET.get("export")
        if fmt in CONTENT_TYPES:
            if not scoping.get_scope(request.user).has_anywhere(self.permission("export")):
                raise PermissionDenied
            content = services.export_systems(self.filtered(self.scoped("export")), fmt)
            response = StreamingHttpResponse([content], content_type=CONTENT_TYPES[fmt])
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            response["Content-Disposition"] = f'attachment; filename="informationsystem-{stamp}.{fmt}"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_import"] = scoping.get_scope(self.request.user).has_anywhere(self.permission("import"))
        return context


# The detail page shows every field but the name, which is its title.
DETAIL_FIELDS = [name for name in SYSTEM_FIELDS if name != "name"]

SECTIONS = [
    # (related name, model, heading, columns as (label, attribute path))
    (
        "components",
        Component,
        gettext_lazy("Components"),
        [
            (gettext_lazy("Kind"), "kind"),
            (gettext_lazy("Product"), "__str__"),
            (gettext_lazy("CPE 2.3 / package URL"), "identifier"),
        ],
    ),
    (
        "servers",
        Server,
        gettext_lazy("Servers"),
        [
            (gettext_lazy("Host name"), "hostname"),
            (gettext_lazy("IP address"), "ip_address"),
            (gettext_lazy("Zone"), "zone"),
            (gettext_lazy("Role"), "role"),
        ],
    ),
    ("domains", Domain, gettext_lazy("Domains"), [(gettext_lazy("Domain name"), "name")]),
    (
        "ip_ranges",
        IPRange,
        gettext_lazy("IP ranges"),
        [(gettext_lazy("Network"), "cidr"), (gettext_lazy("Description"), "description")],
    ),
    (
        "contacts",
        Contact,
        gettext_lazy("Contacts"),
        [
            (gettext_lazy("Role"), "role"),
            (gettext_lazy("Name"), "name"),
            (gettext_lazy("Job title"), "title"),
            (gettext_lazy("E-mail"), "email"),
        ],
    ),
]
SECTION_LIMIT = 200


class SystemDetailView(ObjectDetailView):
    model = InformationSystem
    template_name = "registry/system_detail.html"
    fields = DETAIL_FIELDS

    def get_context_data(self, **kwargs):
        from attt.core.exports import attribute

        context = super().get_context_data(**kwargs)
        system, user = context["object"], self.request.user
        sections = []
        for related, model, heading, columns in SECTIONS:
            if not scoping.get_scope(user).has_anywhere(f"registry.{model._meta.model_name}.view"):
                continue
            queryset = scoping.visible(user, getattr(system, related).select_related("organization"))
            records = list(queryset[:SECTION_LIMIT])
            sections.append(
                {
                    "key": related,
                    "heading": heading,
                    "namespace": f"registry:{model._meta.model_name}",
                    "headers": [label for label, _path in columns],
                    "rows": [
                        (
                            record,
                            [_value(record, path, attribute) for _label, path in columns],
                            scoping.can(user, "change", record),
                            scoping.can(user, "delete", record),
                        )
                        for record in records
                    ],
                    "total": queryset.count() if len(records) == SECTION_LIMIT else len(records),
                    "limit": SECTION_LIMIT,
                    "can_add": scoping.can_in(user, f"registry.{model._meta.model_name}.add", system.organization),
                }
            )
        context.update(
            sections=sections,
            subsystems=scoping.visible(user, system.subsystems.all()),
            facts=json.dumps(services.level_facts(system), ensure_ascii=False, indent=2),
        )
        return context


def _value(record, path: str, attribute):
    if path == "__str__":
        return str(record)
    if path == "identifier":
        return record.cpe23 or record.purl
    return attribute(path)(record)


class SystemEditView(ObjectEditView):
    model = InformationSystem
    form_class = forms.SystemForm
    template_name = "registry/system_form.html"

    def get_form(self):
        form = super().get_form()
        user = self.request.user
        # the units one sees, and the system's own operator (which may be outside the scope: it stays on saving)
        form.fields["operator"].queryset = scoping.or_current(
            scoping.visible(user, Organization.objects.filter(is_active=True)), form.instance.operator_id
        )
        # A composite has the same owner as its parts: offer only that owner's systems (once it is known).
        owner = _uuid_or_none(self.request.POST.get("organization")) or form.instance.organization_id
        parents = (
            services.visible_systems(user).filter(organization_id=owner) if owner else InformationSystem.objects.none()
        )
        form.fields["parent_system"].queryset = parents.exclude(pk=form.instance.pk)
        if not owner:
            form.fields["parent_system"].help_text = _("Save the system first: its owner's systems are then offered.")
        return form


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class SystemDeleteView(ObjectDeleteView):
    model = InformationSystem


class SystemImportView(ScopedMixin, TemplateView):
    """Upload a CSV/XLSX file of systems; a dry run by default, every bad row shown, all or nothing."""

    model = InformationSystem
    action = "import"
    template_name = "registry/system_import.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", forms.ImportForm())
        context["title"] = _("Import information systems")
        context["columns"] = [c.name for c in COLUMNS]
        return context

    def post(self, request, *args, **kwargs):
        form = forms.ImportForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = detect_format(upload.name, upload.read(4))
            upload.seek(0)
            try:
                report = services.import_systems(upload, fmt, request.user, dry_run=form.cleaned_data["dry_run"])
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                if report.written:
                    messages.success(
                        request,
                        _("Imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.")
                        % {"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
                    )
                    return redirect("registry:system_list")
        status = 200 if report is None or report.ok else 422
        return self.render_to_response(self.get_context_data(form=form, report=report), status=status)


# --- Records of a system ----------------------------------------------------------------------------------


class PartDetailView(ObjectDetailView):
    template_name = "registry/part_detail.html"


class PartEditView(ObjectEditView):
    """Add or change a record of a system: the systems offered are those where the user may add it."""

    def get_form(self):
        form = super().get_form()
        systems = scoping.get_scope(self.request.user).filter(
            InformationSystem.objects.select_related("organization"), self.permission("add")
        )
        # Coming from a system's page, offer that system; changing a record, its owner's systems. The full
        # list (thousands for a national administrator) only when nothing narrows it.
        chosen = _uuid_or_none(self.request.GET.get("system"))
        if chosen and not self.kwargs.get("pk"):
            form.initial["system"] = chosen
            if self.request.method == "GET":
                systems = systems.filter(pk=chosen)
        elif self.kwargs.get("pk"):
            systems = systems.filter(organization_id=form.instance.organization_id)
        form.fields["system"].queryset = systems
        return form

    def success_url(self, obj) -> str:
        return obj.system.get_absolute_url()


class PartDeleteView(ObjectDeleteView):
    def post(self, request, *args, **kwargs):
        system_url = self.get_object().system.get_absolute_url()
        response = super().post(request, *args, **kwargs)
        if response.url == reverse(f"{scoping.resources[self.model].ui_namespace}_list"):
            return redirect(system_url)
        return response


def _part_views(model, form_class, filterset_class, columns):
    """The list / detail / edit / delete views of one record type of a system."""
    fields = [f.name for f in model._meta.fields if f.editable and f.name not in {"id", "organization"}]
    queryset = model.objects.select_related("system", "organization")
    list_view = type(
        f"{model.__name__}ListView",
        (ObjectListView,),
        {
            "model": model,
            "queryset": queryset,
            "filterset_class": filterset_class,
            "columns": [Column(gettext_lazy("Information system"), "system__name"), *columns],
        },
    )
    detail_view = type(f"{model.__name__}DetailView", (PartDetailView,), {"model": model, "fields": fields})
    edit_view = type(f"{model.__name__}EditView", (PartEditView,), {"model": model, "form_class": form_class})
    delete_view = type(f"{model.__name__}DeleteView", (PartDeleteView,), {"model": model})
    return list_view, detail_view, edit_view, delete_view


COMPONENT_VIEWS = _part_views(
    Component,
    forms.ComponentForm,
    f.ComponentFilterSet,
    [
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Vendor"), "vendor"),
        Column(gettext_lazy("Product"), "product", link=True),
        Column(gettext_lazy("Version"), "version"),
        Column(gettext_lazy("CPE 2.3 name"), "cpe23"),
        Column(gettext_lazy("Package URL"), "purl"),
    ],
)
SERVER_VIEWS = _part_views(
    Server,
    forms.ServerForm,
    f.ServerFilterSet,
    [
        Column(gettext_lazy("Host name"), "hostname", link=True),
        Column(gettext_lazy("IP address"), "ip_address"),
        Column(gettext_lazy("Operating system"), "os"),
        Column(gettext_lazy("Zone"), "zone"),
        Column(gettext_lazy("Role"), "role"),
    ],
)
DOMAIN_VIEWS = _part_views(
    Domain, forms.DomainForm, f.DomainFilterSet, [Column(gettext_lazy("Domain name"), "name", link=True)]
)
IPRANGE_VIEWS = _part_views(
    IPRange,
    forms.IPRangeForm,
    f.IPRangeFilterSet,
    [Column(gettext_lazy("Network"), "cidr", link=True), Column(gettext_lazy("Description"), "description")],
)
CONTACT_VIEWS = _part_views(
    Contact,
    forms.ContactForm,
    f.ContactFilterSet,
    [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Role"), "role"),
        Column(gettext_lazy("Job title"), "title"),
        Column(gettext_lazy("E-mail"), "email"),
        Column(gettext_lazy("Phone"), "phone"),
    ],
)
