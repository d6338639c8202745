"""Generic list / detail / edit / delete views every module's UI is built from.

Each goes through the scoping layer: lists show only the user's subtrees, lookups outside them are
404, and writes need the action's permission on the record's organisation.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import ProtectedError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from attt.core import exports, navigation, scoping
from attt.core.locks import VERSION_FIELD, EditConflict, apply_to_current, lock_unchanged, version_of
from attt.core.permissions import model_permission


@dataclass
class Column:
    """A column of a list page and of its CSV export."""

    header: str
    path: str
    link: bool = False
    shown: bool = True  # False: in the CSV export only (ids and other values a person does not read in a list)

    def value(self, obj):
        return exports.attribute(self.path)(obj)


class ScopedMixin(LoginRequiredMixin):
    model: type[models.Model]
    action = "view"
    queryset: models.QuerySet | None = None

    def base_queryset(self) -> models.QuerySet:
        return self.queryset if self.queryset is not None else self.model._default_manager.all()

    def scoped(self, action: str | None = None) -> models.QuerySet:
        return scoping.visible(self.request.user, self.base_queryset(), action or self.action)

    def permission(self, action: str) -> str:
        return model_permission(self.model, action)

    def get_object(self):
        obj = get_object_or_404(self.scoped("view"), pk=self.kwargs["pk"])
        if self.action != "view" and not scoping.can(self.request.user, self.action, obj):
            raise PermissionDenied
        return obj

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not scoping.get_scope(request.user).has_anywhere(
            self.permission(self.action)
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ObjectListView(ScopedMixin, TemplateView):
    template_name = "core/object_list.html"
    filterset_class = None
    columns: list[Column] = []
    paginate_by = 50
    title = ""

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            if not scoping.get_scope(request.user).has_anywhere(self.permission("export")):
                raise PermissionDenied
            queryset = self.filtered(self.scoped("export"))
            return exports.csv_response(
                queryset, [(c.header, c.value) for c in self.columns], self.model._meta.model_name
            )
        return super().get(request, *args, **kwargs)

    def filtered(self, queryset):
        if self.filterset_class is None:
            return queryset
        self.filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        queryset = self.filtered(self.scoped())
        page = Paginator(queryset, self.paginate_by).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        scope = scoping.get_scope(self.request.user)
        return {
            **super().get_context_data(**kwargs),
            "title": self.title or self.model._meta.verbose_name_plural.capitalize(),
            "columns": [c for c in self.columns if c.shown],
            "rows": [(obj, [c.value(obj) for c in self.columns if c.shown]) for obj in page],
            "page": page,
            "filterset": getattr(self, "filterset", None),
            "querystring": query.urlencode(),
            "can_add": scope.has_anywhere(self.permission("add")),
            "can_export": scope.has_anywhere(self.permission("export")),
            "namespace": self.namespace,
        }

    @property
    def namespace(self) -> str:
        return scoping.resources[self.model].ui_namespace


class ObjectDetailView(ScopedMixin, TemplateView):
    template_name = "core/object_detail.html"
    fields: list[str] = []

    def get_context_data(self, **kwargs):
        obj = self.get_object()
        user = self.request.user
        rows = [(obj._meta.get_field(f.split("__")[0]).verbose_name, exports.attribute(f)(obj)) for f in self.fields]
        return {
            **super().get_context_data(**kwargs),
            "object": obj,
            "title": str(obj),
            "rows": rows,
            "can_change": scoping.can(user, "change", obj),
            "can_delete": scoping.can(user, "delete", obj),
            "namespace": scoping.resources[self.model].ui_namespace,
            "audit_url": f"?object_id={obj.pk}",
            "object_links": navigation.links_for(obj, scoping.get_scope(user)),
        }


CONFLICT_MESSAGE = gettext_lazy(
    "Someone else saved this record after you opened this page, so your changes were not saved. Open the record "
    "again to see what changed, or save again to write your values over theirs."
)


class ObjectEditView(ScopedMixin, TemplateView):
    """Create (no pk) or change (pk) a record with a model form."""

    template_name = "core/form.html"
    form_class = None

    def dispatch(self, request, *args, **kwargs):
        self.action = "change" if "pk" in kwargs else "add"
        return super().dispatch(request, *args, **kwargs)

    def get_form(self):
        instance = self.get_object() if "pk" in self.kwargs else None
        form = self.form_class(self.request.POST or None, self.request.FILES or None, instance=instance)
        form.read_version = self.request.POST.get(VERSION_FIELD, "")  # the row's version the page showed
        if "organization" in form.fields:
            form.fields["organization"].queryset = scoping.organizations_where(
                self.request.user, self.permission("add")
            )
        return form

    def get_context_data(self, **kwargs):
        form = kwargs.get("form") or self.get_form()
        title = (
            _("Change %(name)s") % {"name": form.instance}
            if "pk" in self.kwargs
            else _("New %(type)s") % {"type": self.model._meta.verbose_name}
        )
        return {**super().get_context_data(**kwargs), "form": form, "title": title}

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_valid():
            try:
                with transaction.atomic():
                    if not form.instance._state.adding:
                        lock_unchanged(form.instance, form.read_version)
                    obj = self.save(form)
            except EditConflict:  # nothing written; the page comes back with the row's new version
                form.read_version = version_of(form.instance)
                form.add_error(None, CONFLICT_MESSAGE)
                return self.render_to_response(self.get_context_data(form=form))
            messages.success(request, _("Saved."))
            return redirect(self.success_url(obj))
        return self.render_to_response(self.get_context_data(form=form))

    def save(self, form):
        """A change is written over the row as stored now (`locks.apply_to_current`), not the copy the form read:
        `post` has locked and re-read it, and refused it if it was saved since the page was shown."""
        apply_to_current(form)
        return form.save()

    def success_url(self, obj) -> str:
        return obj.get_absolute_url()


class ObjectDeleteView(ScopedMixin, TemplateView):
    template_name = "core/confirm_delete.html"
    action = "delete"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "object": self.get_object()}

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        try:
            with transaction.atomic():
                obj.delete()
        except ProtectedError:
            messages.error(request, _("This record is still referenced by other records and cannot be deleted."))
            return redirect(obj.get_absolute_url())
        messages.success(request, _("Deleted."))
        return redirect(f"{scoping.resources[self.model].ui_namespace}_list")


def get_scoped_or_404(user, queryset: models.QuerySet, **lookup):
    obj = scoping.visible(user, queryset).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj
