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


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED, stored=("mimetype",)) -> bytes:
    """A zip of `members`; OpenDocument's `mimetype` stored uncompressed, as the format requires."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content, compress_type=zipfile.ZIP_STORED if name in stored else None)
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


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_an_open_document_type_member_is_never_inflated(compression):
    """A `mimetype` member of 64 MB of zeros compressed to a few KB (bzip2 inflates a whole block at a time) is
    refused from the local header's bytes, without inflating anything."""
    import tracemalloc

    bomb = _zip({"mimetype": b"\x00" * (64 * 2**20)}, compression, stored=())
    assert len(bomb) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError):
            check("van-ban.odt", bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_an_open_document_whose_type_is_compressed_or_encrypted_is_refused():
    mimetype = b"application/vnd.oasis.opendocument.text"
    with pytest.raises(ValidationError):
        check("van-ban.odt", _zip({"mimetype": mimetype}, stored=()))  # deflated: not as the format requires
    encrypted = bytearray(_zip({"mimetype": mimetype}))
    encrypted[6] |= 1
    with pytest.raises(ValidationError):
        check("van-ban.odt", bytes(encrypted))


def test_a_zip_of_a_million_entries_is_refused_from_its_end_record():
    """A Word file of 500,000 entries took seconds and hundreds of MB to list; its end record says how many."""
    import struct

    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 50_000, 50_000, 10 * 2**20, 0, 0)
    announced = b"PK\x03\x04" + b"\x00" * 100 + end
    with pytest.raises(ValidationError):
        check("bao-cao.docx", announced)
    assert not uploads._directory_of_a_document(SimpleUploadedFile("a.docx", announced))  # before any listing
    assert uploads._directory_of_a_document(SimpleUploadedFile("a.docx", GENUINE[".docx"]))


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
