"""Free-text search as Vietnamese users type it: without diacritics and in any case ("cong thong tin" finds "Cổng
thông tin", "DIEN" finds "điện"). `fold` is the rule; the lookup `__fold_contains` applies it to a column in the
database, with the same mapping on every engine (SQLite: a function registered on each connection; PostgreSQL:
`translate`, which needs no extension and does not depend on the server's locale, unlike `lower` of non-ASCII
letters or `unaccent`)."""

from django.db import models
from django.db.backends.signals import connection_created

_WITH_MARKS = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)
_PLAIN = (
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "AAAAAAAAAAAAAAAAAEEEEEEEEEEEIIIIIOOOOOOOOOOOOOOOOOUUUUUUUUUUUYYYYYD"
)
# The marks as separate characters (text typed with Unikey's "Unicode tổ hợp" or pasted from macOS: "o" + U+0302 +
# U+0309 for "ổ"): dropped, so decomposed and precomposed text fold alike.
_COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"
_TABLE = str.maketrans(_WITH_MARKS, _PLAIN, _COMBINING)
_SQLITE_FUNCTION = "attt_fold"


def fold(text: str) -> str:
    """Vietnamese letters without their marks, then ASCII letters in lower case; any other character as it is (so
    the database, whose `lower` may leave non-ASCII letters alone, gives the same)."""
    return text.translate(_TABLE).translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@models.Field.register_lookup
class FoldContains(models.Lookup):
    """`field__fold_contains=text`: the column, folded, contains the text, folded (a scan, as `icontains` is)."""

    lookup_name = "fold_contains"
    prepare_rhs = False  # the text as typed, not as the field would store it (a UUID or a number field)

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        lhs = connection.ops.lookup_cast("contains", self.lhs.output_field.get_internal_type()) % lhs  # as text
        if connection.vendor == "postgresql":
            folded = f"TRANSLATE(TRANSLATE({lhs}, %s, %s), %s, %s)"
            # translate drops the characters of its second argument that the third has no counterpart for
            params = [
                *params,
                _WITH_MARKS + _COMBINING,
                _PLAIN,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "abcdefghijklmnopqrstuvwxyz",
            ]
        else:
            folded = f"{_SQLITE_FUNCTION}({lhs})"
        return f"{folded} LIKE %s ESCAPE '\\'", [*params, f"%{_escape_like(fold(str(self.rhs)))}%"]


def _fold_column(value) -> str | None:
    return None if value is None else fold(str(value))


def _register_on_sqlite(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(_SQLITE_FUNCTION, 1, _fold_column, deterministic=True)


connection_created.connect(_register_on_sqlite, dispatch_uid="attt.core.search.fold")
