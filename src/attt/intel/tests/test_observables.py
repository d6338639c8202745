import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from attt.intel import observables, stix


@pytest.mark.parametrize(
    "kind, raw, canonical",
    [
        ("ipv4", " 192.0.2.1 ", "192.0.2.1"),
        ("ipv4", "192.0.2.0/24", "192.0.2.0/24"),
        ("ipv4", "192.0.2.7/32", "192.0.2.7"),
        ("ipv4", "192[.]0[.]2[.]1", "192.0.2.1"),
        ("ipv6", "2001:DB8:0:0::1", "2001:db8::1"),
        ("domain", "WWW.Example.COM.", "www.example.com"),
        ("domain", "example[.]com", "example.com"),
        ("domain", "bộ-công-an.example", "xn--b-cng-an-63a1467e.example"),
        ("domain", "Ví-Dụ.VN.", "xn--v-d-rma6749a.vn"),
        ("url", "HTTP://Example.VN/a?b=1#frag", "http://example.vn/a?b=1#frag"),
        ("url", "hxxps://Example.COM/Path?q=1", "https://example.com/Path?q=1"),
        ("url", "http://example.com", "http://example.com/"),
        ("url", "http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("email", "Ke.Gian[@]Example.COM", "Ke.Gian@example.com"),
        ("phone", "0912 345 678", "+84912345678"),
        ("phone", "024 555 0199", "+84245550199"),
        ("phone", "+84 (24) 3822-1234", "+842438221234"),
        ("phone", "0084912345678", "+84912345678"),
        ("bank_account", "1903-0123-4567-89", "19030123456789"),
    ],
)
def test_normalise(kind, raw, canonical):
    assert observables.normalise(kind, raw) == canonical


@pytest.mark.parametrize(
    "kind, raw",
    [
        ("ipv4", "256.1.1.1"),
        ("ipv4", "2001:db8::1"),
        ("ipv6", "192.0.2.1"),
        ("domain", "localhost"),
        ("domain", "-bad-.example.com"),
        ("domain", "example.123"),
        ("url", "example.com/path"),
        ("url", "javascript:alert(1)"),
        ("md5", "xyz"),
        ("sha256", "d41d8cd98f00b204e9800998ecf8427e"),
        ("email", "no-at-sign.example.com"),
        ("phone", "12"),
        ("bank_account", "ABCDEF"),
        ("ipv4", ""),
        ("nonsense", "1.2.3.4"),
    ],
)
def test_bad_values_raise_a_sentence(kind, raw):
    with pytest.raises(ValueError) as caught:
        observables.normalise(kind, raw)
    assert str(caught.value).endswith(".")


@pytest.mark.parametrize(
    "raw, kind",
    [
        ("192.0.2.1", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("example.com", "domain"),
        ("hxxp://example[.]com/a", "url"),
        ("a@example.com", "email"),
        ("0912345678", "phone"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5"),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256"),
    ],
)
def test_detect(raw, kind):
    assert observables.detect(raw) == kind


@pytest.mark.parametrize(
    "kind, value, pattern",
    [
        ("ipv4", "192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"),
        ("ipv6", "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
        ("domain", "example.com", "[domain-name:value = 'example.com']"),
        ("url", "http://example.com/it's", "[url:value = 'http://example.com/it\\'s']"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
        (
            "sha1",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
        ),
        ("email", "a@example.com", "[email-addr:value = 'a@example.com']"),
        ("phone", "+84912345678", "[x-attt-phone-number:value = '+84912345678']"),
        ("bank_account", "0123456789", "[x-attt-bank-account:value = '0123456789']"),
    ],
)
def test_patterns_both_ways(kind, value, pattern):
    assert stix.pattern_for(kind, value) == pattern
    assert stix.observables_in_pattern(pattern) == [(kind, value)]


def test_pattern_with_several_comparisons():
    pattern = (
        "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' OR file:name = 'x.exe']"
        " AND [ipv4-addr:value = '198.51.100.1']"
    )
    assert stix.observables_in_pattern(pattern) == [
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("ipv4", "198.51.100.1"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(observables.OBSERVABLE_KINDS), st.text(max_size=300))
def test_normalise_never_crashes(kind, value):
    try:
        canonical = observables.normalise(kind, value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert observables.normalise(kind, canonical) == canonical  # canonical forms are fixed points


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_detect_never_crashes(value):
    try:
        kind, canonical = observables.parse(value)
    except ValueError as exc:
        assert str(exc)
    else:
        assert kind in observables.OBSERVABLE_KINDS and canonical


@pytest.mark.parametrize(
    "raw",
    [
        "http://a.vn?" + "q" * (2048 - len("http://a.vn?")),  # 2048 in, 2049 out: the "/" path is added
        "http://bộ-công-an.vn/" + "p" * (2048 - len("http://bộ-công-an.vn/")),  # the host grows in IDNA form
    ],
)
def test_a_canonical_form_longer_than_the_column_is_refused(raw):
    assert len(raw) == observables.MAX_VALUE
    with pytest.raises(ValueError, match="2048"):
        observables.normalise("url", raw)
    with translation.override("en"), pytest.raises(ValueError, match="once written in its canonical form"):
        observables.normalise("url", raw)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["http://a.vn", "HTTP://A.VN:80", "http://bộ-công-an.vn", "hxxp://example[.]com", "ftp://[::1]"]),
    st.sampled_from(["", "/", "?", "#", "/p?"]),
    st.integers(min_value=1900, max_value=2060),
)
def test_canonical_forms_fit_the_column(host, separator, length):
    raw = (host + separator + "x" * length)[:length]
    try:
        canonical = observables.normalise("url", raw)
    except ValueError as exc:
        assert str(exc).endswith(".")
    else:
        assert len(canonical) <= observables.MAX_VALUE
