"""Safe handling of uploaded documents for every module: size limit, type allow-list, content that is what its
extension says, the uploaded name kept only as data (never as a path), SHA-256 kept, and served back only as a
download."""

import hashlib
import mimetypes
import secrets
import struct
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


MAX_ZIP_ENTRIES = 10_000  # a Word or Excel file has tens of parts; a directory of a million costs seconds to read
MAX_ZIP_DIRECTORY = 4 * 2**20
_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")  # signature, disk numbers, entries here and in all, size, offset, note


def _office_open_xml(folder: str) -> Callable:
    """A Word or Excel file: a zip with its content types and its main folder (`word/`, `xl/`). Only the names
    of its directory are read, once its end record says the directory is of a document's size."""

    def check(upload: UploadedFile, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04") or not _directory_of_a_document(upload):
            return False
        try:
            with zipfile.ZipFile(upload) as archive:  # its directory only; nothing is inflated
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False
        return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)

    return check


def _directory_of_a_document(upload: UploadedFile) -> bool:
    """Whether the zip's end record (in its last 64 KB) announces at most `MAX_ZIP_ENTRIES` entries in a directory
    of at most `MAX_ZIP_DIRECTORY` bytes (a ZIP64 archive, which a document never needs, does not)."""
    size = upload.size or 0
    upload.seek(max(0, size - 65_536 - _END_OF_DIRECTORY.size))
    tail = upload.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_OF_DIRECTORY.size:
        return False
    _sig, _disk, _start, _here, entries, directory, _offset, _note = _END_OF_DIRECTORY.unpack_from(tail, at)
    return entries <= MAX_ZIP_ENTRIES and directory <= MAX_ZIP_DIRECTORY


def _open_document(mimetype: bytes) -> Callable:
    """An OpenDocument file: its first member, as the format requires, is `mimetype`, stored uncompressed, holding
    exactly its type: read from the local header's bytes, so nothing is ever inflated (a member compressed to a
    bomb is simply refused)."""

    def check(upload: UploadedFile, head: bytes) -> bool:
        if len(head) < 30 or not head.startswith(b"PK\x03\x04"):
            return False
        flags, method = struct.unpack_from("<2H", head, 6)
        stored_size, name_length, extra_length = struct.unpack_from("<L2H", head, 22)
        start = 30 + name_length + extra_length
        return (
            method == zipfile.ZIP_STORED
            and not flags & 1  # not encrypted
            and head[30 : 30 + name_length] == b"mimetype"
            and stored_size == len(mimetype)
            and head[start : start + len(mimetype)] == mimetype
        )

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
