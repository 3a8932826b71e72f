"""Entra attribute-mapping expressions: parsing, errors and every documented function."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.expressions import (
    FUNCTION_NAMES,
    IGNORE_FLOW,
    MAX_EXPRESSION_LENGTH,
    PARSE_SUCCESS_MESSAGE,
    AppRoleAssignments,
    DateTimeValue,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    Redacted,
    parse_expression,
    redact_for_log,
    validate_expression,
)

FIXED_NOW = datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)

USER = {
    "userPrincipalName": "John.Doe@contoso.com",
    "givenName": "John",
    "surname": "Doe",
    "displayName": "John Doe",
    "mail": None,
    "department": "Sales",
    "country": "USA",
    "state": "QLD",
    "IsSoftDeleted": False,
    "proxyAddresses": ["SMTP:john@contoso.com", "smtp:jd@contoso.com", "smtp:john@contoso.com"],
    "otherMails": [],
    "employeeId": "1200",
    "extensionAttribute1": "20150123105347.1Z",
    "extension_abc123_costCenter": "CC-42",
    "BusinessTitle": "Product Developer",
    "UserID": "jsmith",
    "telephoneNumber": "+91 9998887777",
    "mobile": "+1 (999) 888-7777",
    "AddressLineData": "545 Tremont Street",
    "mailNickname": "john_doe72",
    "StatusHireDate": "2012-03-16-07:00",
    "lastLogonTimestamp": 129699324000000000,
    "accountEnabled": True,
}


def evaluate(text: str, source: dict | None = None, **kwargs):
    return parse_expression(text).evaluate(
        USER if source is None else source, now=FIXED_NOW, **kwargs
    )


# --------------------------------------------------------------------------------------------
# Function table: (expression, expected) against USER
# --------------------------------------------------------------------------------------------

FUNCTION_CASES = [
    # Append
    ('Append([userPrincipalName], ".test")', "John.Doe@contoso.com.test"),
    ('Append([mail], ".test")', None),
    ("Append([givenName], )", "John"),
    # BitAnd (documented example uses VBA hex literals)
    ("BitAnd(&HF, &HF7)", 7),
    ('BitAnd("12", 10)', 8),
    ("BitAnd([mail], 1)", None),
    # CBool
    ("CBool([givenName] = [givenName])", "True"),
    ("CBool([givenName] = [surname])", "False"),
    ('CBool("0")', "False"),
    ("CBool(5)", "True"),
    ("CBool([accountEnabled])", "True"),
    ("CBool([mail])", "False"),
    # CDate: documented samples, always UTC in M/d/yyyy h:mm:ss tt
    ("CDate([StatusHireDate])", "3/16/2012 7:00:00 AM"),
    ('CDate("2021-06-30+08:00")', "6/29/2021 4:00:00 PM"),
    ('CDate("2009-06-15T01:45:30-07:00")', "6/15/2009 8:45:30 AM"),
    ('CDate("2009-06-15T01:45:30Z")', "6/15/2009 1:45:30 AM"),
    ('CDate("7/2/2021 3:33:38 PM")', "7/2/2021 3:33:38 PM"),
    ('CDate("2021-01-01T00:00:00.1234567Z")', "1/1/2021 12:00:00 AM"),
    ("CDate([mail])", None),
    # Coalesce
    ("Coalesce([mail], [userPrincipalName])", "John.Doe@contoso.com"),
    ('Coalesce([mail], [missing], "default")', "default"),
    ("Coalesce([mail], [missing])", None),
    ('Coalesce([otherMails], "fallback")', "fallback"),
    # ConvertToBase64 / ConvertToUTF8Hex (documented outputs)
    ('ConvertToBase64("Hello world!")', "SABlAGwAbABvACAAdwBvAHIAbABkACEA"),
    ('ConvertToUTF8Hex("Hello world!")', "48656C6C6F20776F726C6421"),
    ('ConvertToUTF8Hex("é")', "C3A9"),
    ("ConvertToBase64([mail])", None),
    # Count
    ("Count([proxyAddresses])", 3),
    ("Count([otherMails])", 0),
    ("Count([missing])", 0),
    ("Count([givenName])", 1),
    # CStr
    ("CStr([accountEnabled])", "True"),
    ("CStr([lastLogonTimestamp])", "129699324000000000"),
    ("CStr(12.50)", "12.50"),
    ("CStr([mail])", None),
    # DateAdd: documented table (hire date 2012-03-16-07:00)
    ('DateAdd("d", 7, CDate([StatusHireDate]))', "3/23/2012 7:00:00 AM"),
    ('DateAdd("d", -10, CDate([StatusHireDate]))', "3/6/2012 7:00:00 AM"),
    ('DateAdd("ww", 2, CDate([StatusHireDate]))', "3/30/2012 7:00:00 AM"),
    ('DateAdd("m", 10, CDate([StatusHireDate]))', "1/16/2013 7:00:00 AM"),
    ('DateAdd("yyyy", 2, CDate([StatusHireDate]))', "3/16/2014 7:00:00 AM"),
    ('DateAdd("q", 1, CDate("2021-01-31"))', "4/30/2021 12:00:00 AM"),
    ('DateAdd("m", 1, CDate("2020-01-31"))', "2/29/2020 12:00:00 AM"),
    ('DateAdd("yyyy", 1, CDate("2020-02-29"))', "2/28/2021 12:00:00 AM"),
    ('DateAdd("y", 1, "2021-12-31")', "1/1/2022 12:00:00 AM"),
    ('DateAdd("w", 3, "2021-12-31")', "1/3/2022 12:00:00 AM"),
    ('DateAdd("h", 25, "2021-12-31")', "1/1/2022 1:00:00 AM"),
    ('DateAdd("n", 90, "2021-12-31")', "12/31/2021 1:30:00 AM"),
    ('DateAdd("s", -1, "2022-01-01")', "12/31/2021 11:59:59 PM"),
    ('DateAdd("d", 1, Now())', "7/3/2021 3:33:38 PM"),
    ('DateAdd("d", 1, [mail])', None),
    # DateDiff: documented table (Visual Basic boundary counting)
    ('DateDiff("d", "2021-08-18+08:00", "2021-08-31+08:00")', 13),
    ('DateDiff("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")', -3449),
    ('DateDiff("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")', -493),
    ('DateDiff("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")', -113),
    ('DateDiff("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")', -9),
    ('DateDiff("d", "2021-08-31+08:00", "2021-08-31+08:00")', 0),
    ('DateDiff("h", "2021-08-24", "2021-08-25")', 24),
    ('DateDiff("n", "2021-08-24", "2021-08-25")', 1440),
    ('DateDiff("s", "2021-08-24", "2021-08-25")', 86400),
    ('DateDiff("q", "2021-03-31", "2021-04-01")', 1),
    ('DateDiff("w", "2021-08-01", "2021-08-14")', 1),
    ('DateDiff("d", Now(), CDate([StatusHireDate]))', -3395),
    ('DateDiff("d", [mail], Now())', None),
    # DateFromNum (documented: January 1, 2012 at 11:00PM)
    ("DateFromNum(129699324000000000)", "1/1/2012 11:00:00 PM"),
    ("DateFromNum([lastLogonTimestamp])", "1/1/2012 11:00:00 PM"),
    ("DateFromNum([mail])", None),
    # FormatDateTime (.NET custom formats)
    ('FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")', "2015-01-23"),
    (
        'FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd")',
        "2020-12-31",
    ),
    (
        'FormatDateTime("12/31/2020 11:59:59 PM", , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-ddTHH:mm:ss")',
        "2020-12-31T23:59:59",
    ),
    (
        'FormatDateTime("2021-07-02T15:33:38.123Z", , "yyyy-MM-ddTHH:mm:ss.fffK", '
        '"dd/MM/yy h:m:s tt fff zzz K")',
        "02/07/21 3:33:38 PM 123 +00:00 Z",
    ),
    ('FormatDateTime("20210702", , "yyyyMMdd", "dddd d MMMM yyyy")', "Friday 2 July 2021"),
    ('FormatDateTime("2 Jul 2021", , "d MMM yyyy", "yyyy-MM-dd")', "2021-07-02"),
    ('FormatDateTime("  2021-07-02 ", , "yyyy-MM-dd", "\'Day\' d")', "Day 2"),
    ('FormatDateTime("2021-07-02", , "yyyy-MM-dd", "o")', "2021-07-02T00:00:00.0000000"),
    (
        'FormatDateTime("2021-07-02", "AssumeUniversal", "yyyy-MM-dd", "yyyy-MM-dd K")',
        "2021-07-02 Z",
    ),
    ('FormatDateTime("99-01-05", , "yy-MM-dd", "yyyy")', "1999"),
    ('FormatDateTime("21-01-05", , "yy-MM-dd", "yyyy")', "2021"),
    ('FormatDateTime([mail], , "yyyy", "yyyy")', None),
    # IIF
    ('IIF([country]="USA",[country],[department])', "USA"),
    ('IIF([country]="FR",[country],[department])', "Sales"),
    ('IIF([country]="USA",IIF([state]="CA","True","False"),"False")', "False"),
    ('IIF([country]="USA","True",IIF([state]="CA","True","False"))', "True"),
    ('IIF([employeeId] > 1000, "big", "small")', "big"),
    ('IIF([employeeId] >= 1200, "big", "small")', "big"),
    ('IIF([employeeId] < 1000, "big", "small")', "small"),
    ('IIF([employeeId] <= 1200, "le", "gt")', "le"),
    ('IIF([country] <> "USA", "other", "us")', "us"),
    ('IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")', "True"),
    # InStr (documented)
    ('InStr("The quick brown fox","quick")', 5),
    ('InStr("repEated","e",3,vbBinaryCompare)', 7),
    ('InStr("repEated","e",3,vbTextCompare)', 4),
    ('InStr("abc","z")', 0),
    ('InStr("abc","c",10)', 0),
    ('InStr([mail],"c")', None),
    # IsNull / IsNullOrEmpty / IsPresent / IsString
    ("IsNull([mail])", "True"),
    ("IsNull([displayName])", "False"),
    ("IsNull([otherMails])", "True"),
    ('IsNullOrEmpty("")', "True"),
    ("IsNullOrEmpty([mail])", "True"),
    ("IsNullOrEmpty([displayName])", "False"),
    ("IsPresent([displayName])", "True"),
    ('IsPresent("")', "False"),
    ("IsString([displayName])", "True"),
    ("IsString([lastLogonTimestamp])", "False"),
    ("IsString([mail])", "False"),
    ("IsString(Now())", "True"),
    # Item (1-based)
    ("Item([proxyAddresses], 1)", "SMTP:john@contoso.com"),
    ("Item([proxyAddresses], 3)", "smtp:john@contoso.com"),
    ("Item([proxyAddresses], 4)", None),
    ("Item([proxyAddresses], 0)", None),
    ("Item([givenName], 1)", "John"),
    # Join: flattens multi-valued sources, skips nulls and empty strings
    ('Join(" ", [givenName], [surname])', "John Doe"),
    ('Join(", ", "", [surname], [givenName])', "Doe, John"),
    (
        'Join("|", [proxyAddresses], [mail], "x")',
        "SMTP:john@contoso.com|smtp:jd@contoso.com|smtp:john@contoso.com|x",
    ),
    ('Join("", 1000, "-", [employeeId])', "1000-1200"),
    ('Join(" ", [mail], [missing])', None),
    # Left (documented edge cases)
    ('Left("John Doe", 3)', "Joh"),
    ('Left("John Doe", 0)', ""),
    ('Left("John Doe", -1)', "John Doe"),
    ('Left("John Doe", 30)', "John Doe"),
    ("Left([mail], 3)", ""),
    # Mid
    ("Mid([givenName], 1, 3)", "Joh"),
    ('Mid("John Doe", 6, 3)', "Doe"),
    ('Mid("John Doe", 6, 100)', "Doe"),
    ('Mid("John", 10, 2)', ""),
    ('Mid("John", 2, 0)', ""),
    ("Mid([mail], 1, 2)", None),
    ("Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))", "JohDoe"),
    # NormalizeDiacritics (documented table samples)
    ('NormalizeDiacritics("Zoë")', "Zoe"),
    ('NormalizeDiacritics("Ærøskøbing Łódź")', "AEroeskoebing Lodz"),
    ('NormalizeDiacritics("Straße Ångström Ştefan Dvořák")', "Strasse Angstrom Stefan Dvorak"),
    ('NormalizeDiacritics("Ǣ ǟ ȫ ı")', "AE a o i"),
    ('NormalizeDiacritics("ไทย")', "ไทย"),
    ("NormalizeDiacritics([mail])", None),
    # Not
    ('Not("True")', "False"),
    ('Not("False")', "True"),
    ('Not("true")', "False"),
    ("Not([accountEnabled])", "False"),
    ("Not(IsNull([mail]))", "False"),
    # Now (pinned)
    ("Now()", "7/2/2021 3:33:38 PM"),
    # NumFromDate
    ('NumFromDate("2012-01-01T23:00:00Z")', 129699324000000000),
    (
        'NumFromDate(Join("", FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", '
        '"yyyy-MM-dd"), " 23:59:59-08:00"))',
        132539615990000000,
    ),
    ("NumFromDate(DateFromNum(129699324000000000))", 129699324000000000),
    ("NumFromDate([mail])", None),
    # PCase (documented)
    ('PCase("PABLO GONSALVES (SECOND)")', "Pablo Gonsalves (Second)"),
    ('PCase("PINTO-DE\'SILVA", " \'-")', "Pinto-De'Silva"),
    ('PCase(Join(" ", "GREGORY", "JAMES"))', "Gregory James"),
    ('PCase("o\'neil mcdonald-smith")', "O'neil Mcdonald-Smith"),
    ('PCase("1st street")', "1St Street"),
    ("PCase([mail])", None),
    # RemoveDuplicates
    ('RemoveDuplicates(Split("a,b,a,c,b", ","))', ["a", "b", "c"]),
    ("RemoveDuplicates([proxyAddresses])", USER["proxyAddresses"]),
    ("RemoveDuplicates([mail])", None),
    # Replace: every documented argument combination
    (
        'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )',
        "Software Engineer",
    ),
    ('Replace([UserID],"<username>", , , , , "<username>@contoso.com")', "jsmith@contoso.com"),
    (
        r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", '
        r', "${phoneNumber}", , )',
        "9998887777",
    ),
    (r'Replace([mobile], , "[()\\s-]+", , "", , )', "+19998887777"),
    (
        r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )',
        "888 Tremont Street",
    ),
    (r'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )', "John.Doe"),
    (
        r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", '
        r'"phoneNumber" , , [mobile], )',
        "+91 9998887777",
    ),
    ('Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', "72"),
    ('Replace([userPrincipalName], "@contoso.com", , ,"", ,)', "John.Doe"),
    ('Replace("a.b.c", ".", , , "-", , )', "a-b-c"),
    ('Replace("abc", , "(b)", , "[$1$$]", , )', "a[b$]c"),
    ('Replace("abc", , "b", , "<$&>", , )', "a<b>c"),
    ('Replace("ABC", "b", , , "x", , )', "ABC"),
    ('Replace([mail], "a", , , "b", , )', None),
    # Split
    ('Split("PermissionSetOne, PermissionSetTwo", ",")', ["PermissionSetOne", "PermissionSetTwo"]),
    ('Split("a;b;;c;", ";")', ["a", "b", "c"]),
    ('Split([mail], ",")', None),
    # StripSpaces
    ('StripSpaces(" J o h n ")', "John"),
    ("StripSpaces([mail])", None),
    # Switch (case-sensitive, default, null source)
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', "True"),
    (
        'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", '
        '"Australia/Brisbane", "SA", "Australia/Adelaide")',
        "Australia/Brisbane",
    ),
    ('Switch([state], "default", "qld", "lower")', "default"),
    ('Switch([mail], "default", "x", "y")', "default"),
    ('Switch([mail], [mail], "", "Other")', "Other"),
    ('Switch([country], [country], "", "Other")', "USA"),
    ('Switch(ToLower([country]), "0", "usa", "1")', "1"),
    ('Switch([state], , "NSW", "x")', None),
    # ToLower / ToUpper
    ('ToLower("John.SMITH@Contoso.com")', "john.smith@contoso.com"),
    ('ToLower("TITLE", "tr-TR")', "tıtle"),
    ('ToUpper("john")', "JOHN"),
    ('ToUpper("straße", "de-DE")', "STRAßE"),
    ('ToUpper("istanbul", "tr-TR")', "İSTANBUL"),
    ("ToLower([mail])", None),
    (
        'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".",  [givenName], '
        '[surname]))), "contoso.com"))',
        "john.doe@contoso.com",
    ),
    # Word (documented)
    ('Word("The quick brown fox",3," ")', "brown"),
    ('Word("This,string!has&many separators",3,",!&#")', "has"),
    ('Word("This,string!has&many separators",4,",!&#")', "many separators"),
    ('Word("The quick brown fox",5," ")', ""),
    ('Word("The quick brown fox",0," ")', ""),
    ('Word("a  b",2," ")', "b"),
    ('Word([mail],1," ")', ""),
    # Attributes: case-insensitive names, names with digits/underscores/dots/hyphens
    ("[extension_abc123_costCenter]", "CC-42"),
    ("[EXTENSION_ABC123_COSTCENTER]", "CC-42"),
    ("[no.such-attr_1]", None),
    # Literals and comparisons at top level
    ('"constant"', "constant"),
    ("42", 42),
    ("-7", -7),
    ("1.5", Decimal("1.5")),
    ('[country] = "USA"', "True"),
    ('"b" > "a"', "True"),
    ('"10" > "9"', "True"),
    ('CDate("2021-01-02") > CDate("2021-01-01")', "True"),
    ("[mail] = [missing]", "True"),
    ('[mail] > "a"', "False"),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTION_CASES)
def test_function_evaluates_as_documented(text, expected):
    # given USER, when the expression is evaluated, then it yields Microsoft's documented value
    assert evaluate(text) == expected


def test_every_documented_function_is_covered_by_the_table():
    # given the table above, then each function name appears in at least one case (or below)
    covered = {
        name for text, _ in FUNCTION_CASES for name in re.findall(r"([A-Za-z0-9]+)\(", text)
    } | {
        "AppRoleAssignmentsComplex",
        "AssertiveAppRoleAssignmentsComplex",
        "SingleAppRoleAssignment",
        "Guid",
        "RandomString",
        "Redact",
        "IgnoreFlowIfNullOrEmpty",
        "SelectUniqueValue",
    }
    assert set(FUNCTION_NAMES) <= covered
    assert len(FUNCTION_NAMES) == 44


def test_documented_default_active_mapping_parses_and_flips_is_soft_deleted():
    # given the generic app's default mapping for `active`
    expression = parse_expression('Switch([IsSoftDeleted], , "False", "True", "True", "False")')
    # then it parses with an omitted default and maps Python or string booleans
    assert expression.to_text() == 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert expression.evaluate({"IsSoftDeleted": True}) == "False"
    assert expression.evaluate({"issoftdeleted": "False"}) == "True"
    assert expression.evaluate({}) is None


def test_switch_only_evaluates_the_chosen_value():
    # given a documented Switch whose unchosen branch is an IIF on a null attribute
    text = (
        'Switch([Active], , "1", IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, '
        '"False", "True"), "0", "False")'
    )
    # when Active is "0" the IIF (which would fail on the missing hire date) is never evaluated
    assert evaluate(text, {"Active": "0"}) == "False"
    assert evaluate(text, {"Active": "1", "StatusHireDate": "2030-01-01"}) == "False"


def test_iif_fails_when_a_condition_attribute_is_null_or_empty():
    # given the documented limitation "If the source attribute ... is empty or null, the
    # condition check fails"
    for text in ('IIF([country]="","Other",[country])', 'IIF(IsPresent([country]),[country],"x")'):
        with pytest.raises(ExpressionEvaluationError) as caught:
            evaluate(text, {"country": ""})
        assert caught.value.function == "IIF"
        assert "[country]" in str(caught.value)


def test_iif_rejects_a_condition_that_is_not_boolean():
    with pytest.raises(ExpressionEvaluationError, match="not a boolean"):
        evaluate('IIF([country], "a", "b")')


def test_ignore_flow_if_null_or_empty_returns_the_sentinel():
    # given a null attribute and an empty Switch result (documented examples)
    assert evaluate("IgnoreFlowIfNullOrEmpty([mail])") is IGNORE_FLOW
    text = 'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))'
    assert evaluate(text, {"prefix": "9999"}) is IGNORE_FLOW
    assert evaluate(text, {"prefix": "3443"}) == "Dr."
    # and the sentinel also escapes from nested positions
    assert evaluate('Join(" ", IgnoreFlowIfNullOrEmpty([mail]), "x")') is IGNORE_FLOW
    assert evaluate("IgnoreFlowIfNullOrEmpty([department])") == "Sales"
    assert not IGNORE_FLOW
    assert repr(IGNORE_FLOW) == "IGNORE_FLOW"


def test_redact_flows_the_value_but_marks_it_for_logs():
    result = evaluate("Redact([userPrincipalName])")
    assert result == "John.Doe@contoso.com"
    assert isinstance(result, Redacted)
    assert redact_for_log(result) == "[Redact]"
    assert redact_for_log("plain") == "plain"
    # Redact anywhere in the expression taints the whole result, so nothing leaks via a wrapper
    wrapped = evaluate('Join("-", Redact([givenName]), [surname])')
    assert isinstance(wrapped, Redacted)
    assert redact_for_log(wrapped) == "[Redact]"
    assert redact_for_log(evaluate('Split(Redact("a,b"), ",")')) == ["[Redact]", "[Redact]"]
    assert evaluate("Redact([mail])") is None


def test_redact_of_random_string_is_redacted():
    result = evaluate("Redact(RandomString(6,3,0,0,3))", rng=Random(1))
    assert isinstance(result, Redacted)
    assert len(result) == 6


@pytest.mark.parametrize(
    ("arguments", "avoid"),
    [
        ("6,3,0,0,3", ""),
        ('10,2,2,2,1,"?,"', "?,"),
        ("256,10,10,10,10", ""),
        ("4,1,1,1,1", ""),
    ],
)
def test_random_string_meets_its_minimums(arguments, avoid):
    # given a seeded generator, when RandomString runs, then every minimum holds
    text = evaluate(f"RandomString({arguments})", rng=Random(7))
    length, numbers, special, capital, lower = (int(part) for part in arguments.split(",")[:5])
    assert len(text) == length
    assert sum(c.isdigit() for c in text) >= numbers
    assert sum(c.isupper() for c in text) >= capital
    assert sum(c.islower() for c in text) >= lower
    assert sum(not c.isalnum() for c in text) >= special
    assert not set(avoid) & set(text)


def test_random_string_is_reproducible_with_an_rng_and_random_without():
    assert evaluate("RandomString(12,1,1,1,1)", rng=Random(3)) == evaluate(
        "RandomString(12,1,1,1,1)", rng=Random(3)
    )
    assert evaluate("RandomString(32,1,1,1,1)") != evaluate("RandomString(32,1,1,1,1)")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("257,0,0,0,0", "between 1 and 256"),
        ("3,2,2,0,0", "more than Length"),
        ('4,1,0,0,0,"0123456789"', "excludes every allowed numbers"),
        ("4,-1,0,0,0", "negative"),
    ],
)
def test_random_string_rejects_impossible_requests(arguments, message):
    with pytest.raises(ExpressionEvaluationError, match=message):
        evaluate(f"RandomString({arguments})")


def test_guid_is_a_random_uuid4():
    first, second = evaluate("Guid()"), evaluate("Guid()")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert first != second
    assert evaluate("Guid()", rng=Random(5)) == evaluate("Guid()", rng=Random(5))


def test_now_uses_the_clock_when_not_pinned():
    before = datetime.now(UTC).replace(microsecond=0)
    result = parse_expression("Now()").evaluate({})
    assert isinstance(result, DateTimeValue)
    assert before <= result.moment <= datetime.now(UTC)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M", result)


def test_now_treats_a_naive_pin_as_utc():
    naive = FIXED_NOW.replace(tzinfo=None)
    assert parse_expression("Now()").evaluate({}, now=naive) == "7/2/2021 3:33:38 PM"


def test_date_values_keep_their_moment_for_further_maths():
    value = evaluate('CDate("2009-06-15T01:45:30-07:00")')
    assert isinstance(value, DateTimeValue)
    assert value.moment == datetime(2009, 6, 15, 8, 45, 30, tzinfo=UTC)


def test_single_app_role_assignment_returns_one_role_value():
    roles = [{"id": "06b07648", "value": "Admin", "displayName": "Administrator"}]
    assert (
        evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": roles})
        == "Admin"
    )
    assert (
        evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": []})
        is None
    )
    assert (
        evaluate("SingleAppRoleAssignment([appRoleAssignments])", {"appRoleAssignments": ["User"]})
        == "User"
    )


@pytest.mark.parametrize(
    ("function", "replace"),
    [("AppRoleAssignmentsComplex", False), ("AssertiveAppRoleAssignmentsComplex", True)],
)
def test_complex_role_functions_build_scim_roles(function, replace):
    # given two assigned app roles
    source = {
        "appRoleAssignments": [
            {"id": "1", "value": "Admin", "displayName": "Admin"},
            {"id": "2", "value": "User", "displayName": "Standard user"},
        ]
    }
    # when the role function runs, then all roles flow as non-primary SCIM roles
    result = evaluate(f"{function}([appRoleAssignments])", source)
    assert isinstance(result, AppRoleAssignments)
    assert result.replace is replace
    assert result == [
        {
            "primary": False,
            "type": "WindowsAzureActiveDirectoryRole",
            "display": "Admin",
            "value": "Admin",
        },
        {
            "primary": False,
            "type": "WindowsAzureActiveDirectoryRole",
            "display": "Standard user",
            "value": "User",
        },
    ]


def test_role_functions_without_assignments():
    # the additive form has nothing to add; the assertive form replaces with an empty list
    assert evaluate("AppRoleAssignmentsComplex([appRoleAssignments])", {}) is None
    result = evaluate("AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", {})
    assert result == []
    assert result.replace is True


def test_select_unique_value_is_not_supported_for_scim_apps():
    expression = parse_expression('SelectUniqueValue(Join("@", [givenName], "x"), [mail])')
    with pytest.raises(ExpressionEvaluationError, match="not supported for SCIM apps") as caught:
        expression.evaluate(USER)
    assert caught.value.function == "SelectUniqueValue"


@pytest.mark.parametrize(
    ("text", "function", "message"),
    [
        ('CDate("not a date")', "CDate", "not a recognised date"),
        ('CDate("2021-02-30")', "CDate", "not a valid date"),
        ("DateAdd([department], 1, Now())", "DateAdd", "unknown interval"),
        ('DateAdd("d", "x", Now())', "DateAdd", "must be a number"),
        ('DateAdd("yyyy", 9000, Now())', "DateAdd", "out of range"),
        ("DateDiff([department], Now(), Now())", "DateDiff", "unknown interval"),
        (
            'FormatDateTime("2021/01/01", , "yyyy-MM-dd", "yyyy")',
            "FormatDateTime",
            "does not match",
        ),
        (
            'FormatDateTime("2021", "Bogus", "yyyy", "yyyy")',
            "FormatDateTime",
            "unknown dateTimeStyles",
        ),
        ('FormatDateTime("2021", , "yyyy", "Q")', "FormatDateTime", "unsupported standard"),
        ('FormatDateTime("2021", , "yyyy", "\'open")', "FormatDateTime", "unterminated quote"),
        ('FormatDateTime("2021", , , "yyyy")', "FormatDateTime", "required"),
        ('Mid("abc", 0, 1)', "Mid", "start must be 1"),
        ('Mid("abc", 1, -1)', "Mid", "must not be negative"),
        ('Left("abc", "x")', "Left", "must be a number"),
        ('Left("abc", 1.5)', "Left", "whole number"),
        ('BitAnd("a", 1)', "BitAnd", "must be a number"),
        ('CBool("maybe")', "CBool", "not a boolean"),
        ('InStr("abc", "b", 0)', "InStr", "start must be 1"),
        ('InStr("abc", "b", 1, [department])', "InStr", "compareType"),
        ('Replace("abc", , "(", , "x", , )', "Replace", "invalid regular expression"),
        ('Replace("abc", , "(?<g>b)", "nope", "x", , )', "Replace", "not a named group"),
        ('Replace("abc", , "b", , , , )', "Replace", "provide replacementValue"),
        ('Replace("abc", , , , "x", , )', "Replace", "provide oldValue or regexPattern"),
        ("ToLower([proxyAddresses])", "ToLower", "multi-valued"),
        ("DateFromNum(999999999999999999999)", "DateFromNum", "outside the AD date range"),
    ],
)
def test_evaluation_errors_name_the_function(text, function, message):
    with pytest.raises(ExpressionEvaluationError, match=message) as caught:
        evaluate(text)
    assert caught.value.function == function
    assert str(caught.value).startswith(f"{function}: ")


def test_replace_fallback_attribute_can_be_named_by_a_string():
    # given an empty source and the fallback attribute named as a string constant
    text = (
        r'Replace([telephoneNumber], , "\\+(?<isd>\\d* )(?<phone>\\d{10})", "phone", , "mobile", )'
    )
    expression = parse_expression(text)
    assert expression.evaluate({"telephoneNumber": "", "mobile": "+91 8887779999"}) == "8887779999"
    assert expression.evaluate({"telephoneNumber": None, "mobile": None}) is None
    assert expression.attributes() == {"telephoneNumber", "mobile"}


def test_replace_with_named_backreference_and_single_quote_group():
    assert evaluate(r'Replace("aa-bb", , "(?<c>\\w)\\k<c>", , "${c}", , )') == "a-b"
    assert evaluate(r'Replace("abc", , "(?' + "'x'" + r'b)", "x", "B", , )') == "aBc"
    # .NET lookbehind syntax is left alone
    assert evaluate(r'Replace("xa ya", , "(?<=x)a", , "!", , )') == "x! ya"
    # an unknown group reference stays literal, as in .NET
    assert evaluate(r'Replace("abc", , "b", , "${nope}", , )') == "a${nope}c"


def test_multi_valued_source_values_may_be_tuples_or_sets():
    assert evaluate("Count([groups])", {"groups": ("a", "b")}) == 2
    assert evaluate('Join(",", [groups])', {"groups": ("a", "b")}) == "a,b"


def test_source_datetimes_and_references_convert_to_strings():
    moment = datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)
    assert evaluate("CStr([created])", {"created": moment}) == "2021-07-02T15:33:38Z"
    assert evaluate("CDate([created])", {"created": moment}) == "7/2/2021 3:33:38 PM"
    assert evaluate("CStr([manager])", {"manager": {"value": "abc-123"}}) == "abc-123"
    assert evaluate("CStr([ratio])", {"ratio": 2.0}) == "2"


# --------------------------------------------------------------------------------------------
# Parsing: grammar, canonical text, attributes, syntax errors
# --------------------------------------------------------------------------------------------


def test_validate_expression_returns_the_console_success_text():
    assert validate_expression('Join(" ", [givenName], [surname])') == PARSE_SUCCESS_MESSAGE
    assert PARSE_SUCCESS_MESSAGE == "The expression was correctly parsed."


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ('Join(" ",[givenName],[surname])', 'Join(" ", [givenName], [surname])'),
        (
            'Replace([mail], "@contoso.com", , ,"", ,)',
            'Replace([mail], "@contoso.com", , , "", , )',
        ),
        ("Guid( )", "Guid()"),
        ('  IIF( [a]="x" ,\n "y",\t"z" )  ', 'IIF([a] = "x", "y", "z")'),
        ('"Company name: \\"Contoso\\""', '"Company name: \\"Contoso\\""'),
        (r'"C:\\temp"', r'"C:\\temp"'),
        (r'"\d+"', r'"\\d+"'),
        ("BitAnd(&hff, 1)", "BitAnd(255, 1)"),
        ("CStr(1.50)", "CStr(1.50)"),
        ("[a]<>[b]", "[a] <> [b]"),
        ('InStr([a], "b", 1, vbTextCompare)', 'InStr([a], "b", 1, vbTextCompare)'),
    ],
)
def test_to_text_renders_canonically_and_round_trips(text, canonical):
    expression = parse_expression(text)
    assert expression.to_text() == canonical
    assert parse_expression(canonical) == expression


def test_string_escapes_follow_microsofts_rule():
    assert evaluate('"Company name: \\"Contoso\\""') == 'Company name: "Contoso"'
    assert evaluate(r'"a\\b"') == "a\\b"
    # any other backslash is kept, so a regex written with single backslashes still works
    assert evaluate(r'"\d"') == r"\d"


def test_attributes_lists_every_referenced_source_attribute():
    expression = parse_expression(
        'IIF([country]="USA", Join(" ", [givenName], [extension_abc123_costCenter]), [department])'
    )
    assert expression.attributes() == {
        "country",
        "givenName",
        "extension_abc123_costCenter",
        "department",
    }
    assert parse_expression("Guid()").attributes() == set()
    assert parse_expression('Join(" ", [a], [b])').functions() == {"Join"}


def test_expressions_compare_by_structure_not_spacing():
    assert parse_expression('Join(" ",[a])') == parse_expression('Join( " " , [a] )')
    assert parse_expression('Join(" ",[a])') != parse_expression('Join(" ",[b])')
    assert hash(parse_expression("[a]")) == hash(parse_expression(" [a] "))
    assert parse_expression("[a]") != "[a]"


@pytest.mark.parametrize(
    ("text", "fragment", "line", "column", "position"),
    [
        ("Left([a]", "Unexpected end of expression", 1, 9, 8),
        ("Left([a], 1))", "Unexpected ')'", 1, 13, 12),
        ('Append([a], "x)', "Unterminated string", 1, 13, 12),
        ("Append([a b], 1)", "Invalid attribute reference", 1, 8, 7),
        ("Append([], 1)", "Invalid attribute reference", 1, 8, 7),
        ("Append([a], 1) $", "Unexpected character '$'", 1, 16, 15),
        ("tolower([a])", "did you mean 'ToLower'?", 1, 1, 0),
        ('Joinn(",", [a])', "did you mean 'Join'?", 1, 1, 0),
        ("Frobnicate([a])", "Unknown function 'Frobnicate'", 1, 1, 0),
        ('Join(",",\n  Lefty([a], 1))', "Unknown function 'Lefty'", 2, 3, 12),
        ('Left("a")', "expects 2 arguments but got 1", 1, 1, 0),
        ("Guid(1)", "expects 0 arguments but got 1", 1, 1, 0),
        ('Join(",")', "expects at least 2 arguments", 1, 1, 0),
        ('InStr("a")', "expects 2 to 4 arguments", 1, 1, 0),
        ('Switch([a], "d", "k")', "expects at least 4 arguments", 1, 1, 0),
        ('Switch([a], "d", "k", "v", "k2")', "must come in pairs", 1, 1, 0),
        ('DateAdd("days", 1, Now())', "unknown interval 'days'", 1, 1, 0),
        ('InStr("a", "b", 1, "vbFast")', "compareType", 1, 1, 0),
        ("country", "Unknown name 'country'", 1, 1, 0),
        ("Join", "must be called with parentheses", 1, 1, 0),
        ("", "The expression is empty", 1, 1, 0),
        ("   ", "The expression is empty", 1, 1, 0),
        ("IIF([a] = 1 = 2, 1, 2)", "Unexpected '='", 1, 13, 12),
        ("&Hxyz", "Invalid hexadecimal number", 1, 1, 0),
        ('Join("," [a])', "Unexpected '[a]'", 1, 10, 9),
    ],
)
def test_syntax_errors_report_a_readable_position(text, fragment, line, column, position):
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    error = caught.value
    assert fragment in error.message
    assert (error.line, error.column, error.position) == (line, column, position)
    assert f"line {line}, column {column}" in error.message
    assert str(error) == error.message


def test_expression_length_is_capped_at_ten_thousand_characters():
    padding = " " * (MAX_EXPRESSION_LENGTH - len("[a]"))
    assert parse_expression(f"[a]{padding}").to_text() == "[a]"
    with pytest.raises(ExpressionSyntaxError, match="maximum is 10,000") as caught:
        parse_expression(f"[a]{padding} ")
    assert caught.value.position == MAX_EXPRESSION_LENGTH


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    text = "ToLower(" * 500 + "[a]" + ")" * 500
    with pytest.raises(ExpressionSyntaxError, match="nested more than"):
        parse_expression(text)
    assert parse_expression("ToLower(" * 20 + '"A"' + ")" * 20).evaluate({}) == "a"


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse_expression(None)  # type: ignore[arg-type]


def test_base64_is_utf16_little_endian():
    # .NET's Encoding.Unicode, so non-ASCII survives
    encoded = evaluate('ConvertToBase64("Zoë")')
    assert base64.b64decode(encoded).decode("utf-16-le") == "Zoë"


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

_attribute_names = st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True)
_leaves = st.one_of(
    st.text(max_size=12).map(
        lambda value: '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
    _attribute_names.map(lambda name: f"[{name}]"),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.just(""),
)


def _calls(children):
    return st.tuples(
        st.sampled_from(["Join", "Coalesce", "Append", "Left", "IIF", "Switch", "Replace", "CStr"]),
        st.lists(children, min_size=1, max_size=5),
    ).map(lambda call: f"{call[0]}(" + ", ".join(call[1]) + ")")


_expression_texts = st.recursive(_leaves, _calls, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_raises_syntax_errors(text):
    expression, problem = None, None
    try:
        expression = parse_expression(text)
    except ExpressionSyntaxError as error:
        problem = error
    if problem is not None:
        assert problem.message
        assert 0 <= problem.position <= len(text)
        assert problem.line >= 1
        assert problem.column >= 1
    else:
        assert parse_expression(expression.to_text()) == expression


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list('Join(IIF[a],"\\ =<>&H0-1.5)Left') + [" ", ",", "\n"]),
        max_size=60,
    )
)
def test_grammar_shaped_noise_only_ever_raises_syntax_errors(text):
    try:
        parse_expression(text)
    except ExpressionSyntaxError:
        pass


@settings(max_examples=300, deadline=None)
@given(_expression_texts)
def test_to_text_round_trips_parse(text):
    try:
        expression = parse_expression(text)
    except ExpressionSyntaxError:
        return  # arity mistakes in generated calls are fine; they must just be syntax errors
    canonical = expression.to_text()
    reparsed = parse_expression(canonical)
    assert reparsed == expression
    assert reparsed.to_text() == canonical


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_string_constants_round_trip_through_escaping(value):
    literal = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert parse_expression(literal).evaluate({}) == value


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.integers(min_value=-5, max_value=50))
def test_left_matches_its_documented_rules(value, count):
    result = parse_expression("Left([s], [n])").evaluate({"s": value, "n": count})
    assert result == (value if count < 0 else value[:count])
