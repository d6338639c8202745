"""Safe handling of uploaded documents for every module: size limit, type allow-list, the uploaded
name kept only as data (never as a path), SHA-256 kept, and served back only as a download."""

import hashlib
import mimetypes
import secrets
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
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    content_type = allowed[extension] or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return CheckedUpload(name, extension, content_type, upload.size, digest.hexdigest())


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
