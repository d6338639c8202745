"""OpenAPI description of what every endpoint shares: the bearer-token scheme (a drf-spectacular extension,
loaded at start-up) and the errors an operation can answer, each an application/problem+json body."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from attt.core.api.exceptions import PROBLEM


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "attt.core.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Token from `attt token USERNAME` or the profile page.",
        }


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as `exceptions.problem` writes them."""

    type = serializers.CharField(help_text="Always about:blank: the status says what kind of problem it is.")
    title = serializers.CharField(help_text="The kind of problem, translated.")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="What went wrong with this request, in a sentence, translated.")
    errors = serializers.DictField(
        required=False, help_text="Invalid input (400): the messages of each field, by field name."
    )


ERRORS = {
    "400": "Invalid input: `errors` lists the messages of each field.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The credentials do not allow this operation.",
    "404": "No such record within what the credentials may see.",
    "409": "The change clashes with a record that exists, or the record is still referenced.",
    "412": "The record was saved since the version sent in If-Match: read it again.",
    "429": "Too many requests: try again later.",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ProblemAutoSchema(AutoSchema):
    """Lists next to each operation's answer the errors it can give, so a client generated from the document
    knows the problem+json shape of each (the handler in `exceptions` writes them all)."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:  # left out of the document
            return None
        body = {PROBLEM: {"schema": self.resolve_serializer(ProblemSerializer, "response").ref}}
        for code in self._error_codes():
            # an error the view describes keeps its words (and a body it gives); the body is the problem
            operation["responses"].setdefault(code, {"description": ERRORS[code]}).setdefault("content", body)
        return operation

    def _error_codes(self) -> list[str]:
        from attt.core.api.base import ScopedModelViewSet  # which builds its schema as it is defined

        codes = []
        if self.method in {"POST", "PUT", "PATCH"}:
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in WRITES and getattr(self.view, "queryset", None) is not None:
            codes.append("409")  # a unique value taken, or a record still referenced
        if self.method in {"PUT", "PATCH"} and isinstance(self.view, ScopedModelViewSet):
            codes.append("412")
        if self.view.get_throttles():
            codes.append("429")
        return codes
