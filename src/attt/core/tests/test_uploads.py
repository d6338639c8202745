"""Uploaded documents are what their extension says: genuine files of every accepted type pass, a file whose
content is of another type (an executable named .pdf, a plain zip named .docx, a spreadsheet named .odt) is
refused with a sentence, and arbitrary bytes never raise anything but that refusal."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.core import uploads


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _docx() -> bytes:
    import docx

    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Biên bản kiểm tra")
    document.save(buffer)
    return buffer.getvalue()


def _xlsx() -> bytes:
    import openpyxl

    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Hệ thống"
    workbook.save(buffer)
    return buffer.getvalue()


def _odf(kind: str) -> bytes:
    return _zip({"mimetype": f"application/vnd.oasis.opendocument.{kind}".encode(), "content.xml": b"<x/>"})


GENUINE = {
    ".pdf": b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF",
    ".png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    ".jpeg": b"\xff\xd8\xff\xe1\x00\x10Exif\x00",
    ".docx": _docx(),
    ".xlsx": _xlsx(),
    ".odt": _odf("text"),
    ".ods": _odf("spreadsheet"),
    ".zip": _zip({"nhat-ky.log": b"dong 1\n"}),
    ".txt": "Biên bản kiểm tra ngày 25/11".encode(),
}


def check(name: str, content: bytes):
    return uploads.check_upload(SimpleUploadedFile(name, content), max_bytes=2**24)


@pytest.mark.parametrize("extension", sorted(GENUINE))
def test_genuine_files_of_every_accepted_type_pass(extension):
    upload = SimpleUploadedFile(f"tai-lieu{extension}", GENUINE[extension])
    upload.read(5)  # something read it before (a form's own check): the signature is still read from the start
    checked = uploads.check_upload(upload, max_bytes=2**24)
    assert checked.extension == extension and checked.size == len(GENUINE[extension])
    assert upload.read() == GENUINE[extension]  # read from the start by whoever stores it


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("quyet-dinh.pdf", b"MZ\x90\x00\x03\x00\x00\x00"),  # an executable
        ("anh.png", GENUINE[".jpg"]),
        ("anh.jpg", GENUINE[".png"]),
        ("bao-cao.docx", GENUINE[".zip"]),  # a zip, not a Word file
        ("bao-cao.docx", _zip({"word/document.xml": b"<w:document/>"})),  # no content types: not a Word file
        ("bao-cao.docx", GENUINE[".xlsx"]),
        ("bang.xlsx", GENUINE[".docx"]),
        ("van-ban.odt", GENUINE[".ods"]),
        ("bang.ods", _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet-template"})),
        ("bao-cao.docx", b"PK\x03\x04 damaged"),
        ("nen.zip", GENUINE[".pdf"]),
        ("ghi-chu.txt", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),  # binary: NUL bytes
    ],
)
def test_content_of_another_type_is_refused_with_a_sentence(name, content):
    with pytest.raises(ValidationError) as refused:
        check(name, content)
    assert "không phải là tệp " + name.rsplit(".", 1)[1].upper() in refused.value.messages[0]  # Vietnamese first


@pytest.mark.parametrize(
    "content",
    [
        b"Bi\xean ba\xd2n",  # "Biên bản" in Windows-1258, a legacy Vietnamese encoding
        "Biên bản".encode("utf-16"),  # with its byte-order mark
        b"",
    ],
)
def test_text_in_other_encodings_passes(content):
    assert check("bien-ban.txt", content).extension == ".txt"


def test_a_pdf_header_after_leading_bytes_passes_as_readers_accept_it():
    assert check("scan.pdf", b"\r\n \x00junk" + GENUINE[".pdf"]).extension == ".pdf"
    with pytest.raises(ValidationError):
        check("scan.pdf", b" " * 1100 + GENUINE[".pdf"])


def test_an_open_document_type_member_is_read_only_as_far_as_its_expected_length():
    """A `mimetype` member of a gigabyte of zeros (a few KB compressed) is not inflated to compare it."""
    import tracemalloc

    bomb = _zip({"mimetype": b"\x00" * (64 * 2**20)})
    assert len(bomb) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError):
            check("van-ban.odt", bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


@settings(max_examples=300, deadline=None)
@given(
    extension=st.sampled_from(sorted(uploads.DOCUMENT_TYPES)),
    content=st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=512).map(lambda tail: b"PK\x03\x04" + tail),
        st.sampled_from(sorted(GENUINE.values())).flatmap(
            lambda genuine: st.integers(0, len(genuine)).map(lambda cut: genuine[:cut])
        ),
    ),
)
def test_any_bytes_pass_or_are_refused_with_a_sentence(extension, content):
    """Fuzz: random bytes, broken zip headers and genuine files cut anywhere never raise anything else."""
    try:
        check(f"f{extension}", content)
    except ValidationError as refused:
        assert refused.messages
