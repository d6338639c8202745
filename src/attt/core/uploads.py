"""Safe handling of uploaded documents for every module: size limit, type allow-list, content that is what its
extension says, the uploaded name kept only as data (never as a path), SHA-256 kept, and served back only as a
download."""

import hashlib
import mimetypes
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain",
    ".zip": "application/zip",
}


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # the uploaded file name without any directory part, for display only
    extension: str
    content_type: str
    size: int
    sha256: str

    def storage_name(self) -> str:
        """A random name to store the file under: nothing of the uploaded name reaches the disk."""
        return secrets.token_hex(16) + self.extension


def check_upload(upload: UploadedFile, *, max_bytes: int, allowed: dict[str, str] = DOCUMENT_TYPES) -> CheckedUpload:
    """Refuse what is too large or not an allowed type; otherwise describe the file and hash it."""
    name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1] or "file"
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in allowed:
        raise ValidationError(
            _("Files of this type are not accepted. Accepted: %(types)s.") % {"types": ", ".join(sorted(allowed))}
        )
    stem = len(name) - len(extension)  # a long name is shortened before its extension, which it keeps
    name = name[: min(stem, 200 - len(extension))] + name[stem:]
    if upload.size > max_bytes:
        raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // 2**20})
    if not _content_matches(upload, extension):
        raise ValidationError(
            _("The file's content is not a %(type)s file, as its name says: it may be damaged or misnamed.")
            % {"type": extension[1:].upper()}
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = allowed[extension] or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return CheckedUpload(name, extension, content_type, upload.size, digest.hexdigest())


# What the first bytes of each type are (its signature), or for a zip-based type which member it must hold. A type
# without an entry (JSON, STIX bundles, CSV) is read by its own parser, which refuses what it is not.
HEAD_BYTES = 8192


def _office_open_xml(folder: str) -> Callable:
    """A Word or Excel file: a zip with its content types and its main folder (`word/`, `xl/`)."""
    return _zip_where(
        lambda archive: (
            "[Content_Types].xml" in (names := archive.namelist()) and any(name.startswith(folder) for name in names)
        )
    )


def _open_document(mimetype: bytes) -> Callable:
    """An OpenDocument file: a zip whose `mimetype` member holds its type (read capped: nothing is inflated
    beyond it)."""

    def holds(archive: zipfile.ZipFile) -> bool:
        with archive.open("mimetype") as member:
            return member.read(len(mimetype) + 1) == mimetype

    return _zip_where(holds)


def _zip_where(test: Callable[[zipfile.ZipFile], bool]) -> Callable:
    def check(upload: UploadedFile, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(upload) as archive:  # its directory is read; nothing is extracted
                return test(archive)
        except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError, EOFError):
            return False

    return check


def _zip(upload: UploadedFile, head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))  # an archive, or an empty one


def _text(upload: UploadedFile, head: bytes) -> bool:
    """Text in any 8-bit encoding (UTF-8, or a legacy Vietnamese one such as Windows-1258), or UTF-16 with its BOM:
    no NUL byte, which every binary format has early on."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head


SIGNATURES: dict[str, Callable[[UploadedFile, bytes], bool]] = {
    ".pdf": lambda upload, head: b"%PDF-" in head[:1024],  # readers accept a header within the first KB
    ".png": lambda upload, head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    ".jpg": lambda upload, head: head.startswith(b"\xff\xd8\xff"),
    ".jpeg": lambda upload, head: head.startswith(b"\xff\xd8\xff"),
    ".docx": _office_open_xml("word/"),
    ".xlsx": _office_open_xml("xl/"),
    ".odt": _open_document(b"application/vnd.oasis.opendocument.text"),
    ".ods": _open_document(b"application/vnd.oasis.opendocument.spreadsheet"),
    ".zip": _zip,
    ".txt": _text,
}


def _content_matches(upload: UploadedFile, extension: str) -> bool:
    """Whether the file's content is of the type its extension names (a type without a signature passes)."""
    check = SIGNATURES.get(extension)
    if check is None:
        return True
    upload.seek(0)  # hashing reads it again from the start (`chunks`)
    return check(upload, upload.read(HEAD_BYTES))


def download_response(file, filename: str, content_type: str) -> FileResponse:
    """Serve a stored upload as a download, never inline, so nothing in it runs in the browser."""
    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type or "application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
