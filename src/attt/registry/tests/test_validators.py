"""Table-driven checks of the identifiers the registry accepts (CPE 2.3, purl, host names, CIDR)."""

import pytest
from django.core.exceptions import ValidationError

from attt.registry import validators as v

VALID_CPE = [
    "cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*",
    "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*",
    "cpe:2.3:o:cisco:ios:15.2\\(4\\)e10:*:*:*:*:*:*:*",  # quoted parentheses
    "cpe:2.3:a:joomla:joomla\\!:4.3.4:*:*:*:*:*:*:*",
    "cpe:2.3:a:microsoft:.net_framework:4.8:*:*:*:*:*:*:*",
    "cpe:2.3:a:oracle:database_server:19c:*:*:*:enterprise:*:*:*",
    "cpe:2.3:a:vendor:prod\\:uct:1.0:*:*:*:*:*:*:*",  # a quoted colon is part of the value
    "cpe:2.3:a:vendor:product:1.*:*:*:*:*:*:*:*",  # trailing wildcard
    "cpe:2.3:a:vendor:product:?.0:*:*:en-us:*:*:*:*",  # leading single wildcard, language tag
    "cpe:2.3:h:cisco:catalyst_9300:-:*:*:*:*:*:*:*",
    "cpe:2.3:*:*:*:*:*:*:*:*:*:*:*",
    "cpe:2.3:a:vendor:product:1.0:*:*:vie:*:*:*:*",
]
INVALID_CPE = [
    ("cpe:/a:apache:http_server:2.4.57", "cpe_prefix"),  # CPE 2.2 URI binding
    ("cpe:2.3:a:apache:http_server:2.4.57", "cpe_parts"),  # too few parts
    ("cpe:2.3:a:apache:http_server:2.4.57:*:*:*:*:*:*:*:*", "cpe_parts"),  # too many
    ("cpe:2.3:x:apache:http_server:2.4.57:*:*:*:*:*:*:*", "cpe_part"),
    ("cpe:2.3:a:apache:http server:2.4.57:*:*:*:*:*:*:*", "cpe_space"),
    ("cpe:2.3:a:cisco:ios:15.2(4)e10:*:*:*:*:*:*:*", "cpe_value"),  # unquoted parenthesis
    ("cpe:2.3:a:vendor::1.0:*:*:*:*:*:*:*", "cpe_value"),  # empty product
    ("cpe:2.3:a:vendor:product:1.0:*:*:english:*:*:*:*", "cpe_value"),  # not a language tag
    ("cpe:2.3:a:vendor:pro**duct:1.0:*:*:*:*:*:*:*", "cpe_value"),  # wildcard inside a value
    ("cpe:2.3:a:vendor:sản_phẩm:1.0:*:*:*:*:*:*:*", "cpe_value"),  # not ASCII
    ("cpe:2.3:a:vendor:product\\:1.0:*:*:*:*:*:*:*", "cpe_parts"),  # the colon is quoted away
]


@pytest.mark.parametrize("value", VALID_CPE)
def test_valid_cpe(value):
    v.validate_cpe23(value)
    assert len(v.split_cpe23(value)) == 13


@pytest.mark.parametrize(("value", "code"), INVALID_CPE)
def test_invalid_cpe(value, code):
    with pytest.raises(ValidationError) as caught:
        v.validate_cpe23(value)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("15.2(4)e10", "15.2\\(4\\)e10"), ("joomla!", "joomla\\!"), ("a_b-c.d", "a_b-c.d"), ("x:y", "x\\:y")],
)
def test_cpe_quote(text, quoted):
    assert v.cpe_quote(text) == quoted
    v.validate_cpe23(f"cpe:2.3:a:vendor:{quoted}:1:*:*:*:*:*:*:*")


VALID_PURL = [
    "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
    "pkg:npm/jquery@3.5.1",
    "pkg:npm/%40angular/core@16.2.0",
    "pkg:pypi/django@4.2.7",
    "pkg:nuget/Newtonsoft.Json@13.0.3",
    "pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12",
    "pkg:github/package-url/purl-spec@244fd47e07d1004#everybody/loves/dogs",
    "pkg:generic/openssl@3.0.11?download_url=https%3A%2F%2Fopenssl.org",
    "pkg:docker/library/nginx",
    "pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c",
]
INVALID_PURL = [
    "maven/org.apache/log4j@2.17.1",  # no scheme
    "pkg:/log4j@1",  # no type
    "pkg:1npm/jquery@1",  # type starts with a digit
    "pkg:npm",  # no name
    "pkg:npm/",  # empty name
    "pkg:npm/jquery@",  # empty version
    "pkg:npm/jquery@1.0?arch",  # qualifier without value
    "pkg:npm/jquery@1.0?a=1&a=2",  # duplicate qualifier
    "pkg:npm/jquery@1.0?1a=x",  # key starting with a digit
    "pkg:npm/j query@1.0",  # space
    "pkg:npm/jquery@1.0%zz",  # bad percent-encoding
    "pkg:npm/jquery@1.0#../etc",  # subpath escapes
]


@pytest.mark.parametrize("value", VALID_PURL)
def test_valid_purl(value):
    v.validate_purl(value)


@pytest.mark.parametrize("value", INVALID_PURL)
def test_invalid_purl(value):
    with pytest.raises(ValidationError):
        v.validate_purl(value)


@pytest.mark.parametrize(
    ("value", "ascii_form"),
    [
        ("dichvucong.hanoi.gov.vn", "dichvucong.hanoi.gov.vn"),
        ("DichVuCong.HaNoi.gov.vn", "dichvucong.hanoi.gov.vn"),
        ("www.example.gov.vn.", "www.example.gov.vn"),
        ("a-b.c1.vn", "a-b.c1.vn"),
    ],
)
def test_valid_domain(value, ascii_form):
    v.validate_domain(value)
    assert v.to_ascii_hostname(value) == ascii_form


@pytest.mark.parametrize(
    "value",
    [
        "localhost",  # one label
        "-bad.gov.vn",
        "bad-.gov.vn",
        "a..b.vn",
        "a b.gov.vn",
        ".gov.vn",
        "192.0.2.1",  # an address, not a name
        "x" * 64 + ".vn",  # label too long
        ("a" * 60 + ".") * 5 + "vn",  # name too long
        "under_score.gov.vn",
        "http://example.gov.vn",
    ],
)
def test_invalid_domain(value):
    with pytest.raises(ValidationError):
        v.validate_domain(value)


def test_vietnamese_domain_names_are_accepted_in_their_ascii_form():
    value = "cổngthôngtin.việtnam.vn"
    v.validate_domain(value)
    ascii_form = v.to_ascii_hostname(value)
    assert ascii_form.startswith("xn--") and ascii_form.endswith(".vn")
    assert ascii_form.encode("ascii").decode("idna") == value


def test_server_host_names_may_be_single_labels():
    v.validate_hostname("srv-web01")
    with pytest.raises(ValidationError):
        v.validate_hostname("srv web01")


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("192.0.2.0/24", "192.0.2.0/24"),
        ("198.51.100.128/25", "198.51.100.128/25"),
        ("203.0.113.7", "203.0.113.7/32"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:DB8:0:0::/64", "2001:db8::/64"),
        (" 192.0.2.0/24 ", "192.0.2.0/24"),
    ],
)
def test_valid_cidr(value, normal):
    v.validate_cidr(value)
    assert str(v.parse_network(value)) == normal


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("192.0.2.1/24", "cidr_host_bits"),
        ("2001:db8::1/32", "cidr_host_bits"),
        ("192.0.2.0/33", "cidr"),
        ("300.0.2.0/24", "cidr"),
        ("192.000.002.000/24", "cidr"),  # leading zeros are ambiguous
        ("example.gov.vn", "cidr"),
        ("192.0.2.0/", "cidr"),
    ],
)
def test_invalid_cidr(value, code):
    with pytest.raises(ValidationError) as caught:
        v.validate_cidr(value)
    assert caught.value.code == code


def test_host_bits_message_suggests_the_network():
    with pytest.raises(ValidationError) as caught:
        v.validate_cidr("192.0.2.1/24")
    assert "192.0.2.0/24" in caught.value.messages[0]


@pytest.mark.parametrize("value", ["+84 24 3123 4567", "024.3123.4567", "(024) 3123-4567", "0912345678"])
def test_valid_phone(value):
    v.validate_phone(value)


@pytest.mark.parametrize("value", ["abc", "12", "+84 24 3123 4567 ext. 5"])
def test_invalid_phone(value):
    with pytest.raises(ValidationError):
        v.validate_phone(value)


def test_choice_list_validator():
    check = v.ChoiceListValidator(["public", "private"])
    check(["public", "private"])
    for bad in (["secret"], ["public", "public"], "public", [1]):
        with pytest.raises(ValidationError):
            check(bad)
