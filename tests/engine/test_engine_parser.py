"""Condition grammar: precedence, quoting, escapes, quirks and syntax errors (docs/rules-language.md §4)."""
from __future__ import annotations

import pytest

from scaptools.engine import parse_condition
from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.tree import Check, FieldRef, ListValue

PARSES = [
    ("not a and b or c", "((not a and b) or c)"),
    ("a or b and not c or d", "(a or (b and not c) or d)"),
    ("not not a", "a"),
    ("not not not a", "not a"),
    ("a and (b or c)", "(a and (b or c))"),
    ("a and(b or c)", "(a and (b or c))"),
    ("a or (b) and c", "(a or (b and c))"),  # quirk Q1 with a blank
    ("not(a) and b", "(not a and b)"),
    ("not\fa", "not a"),  # any POSIX space after `not`
    ("nota", "nota"),  # a macro whose name starts with `not`
    ("ct.name=X", "ct.name = X"),
    ("ct.name =X", "ct.name = X"),
    ("ct.region in(a,b)", "ct.region in (a, b)"),
    ("ct.region in ( )", "ct.region in ()"),
    ("ct.region in (us-east-1, \"a b\", 'c')", 'ct.region in (us-east-1, "a b", c)'),
    ("ct.error exists", "ct.error exists"),
    ("json.value[/a/b]=Success", "json.value[/a/b] = Success"),
    ('json.value["/a b"]=x', "json.value[/a b] = x"),
    ("proc.aname[2] in (a)", "proc.aname[2] in (a)"),
    ("evt.num > 0", "evt.num > 0"),
    ("evt.num>=-5", "evt.num >= -5"),
    ("ct.name = oneof and x.y exists", "(ct.name = oneof and x.y exists)"),
    ("ct.name startswith anyof (a, b)", "ct.name startswith anyof (a, b)"),
    ("ct.name != allof mylist", "ct.name != allof (mylist)"),
    ("ct.name contains oneof", "ct.name contains oneof"),
    ("tolower(ct.name) = val(ct.user)", "tolower(ct.name) = val(ct.user)"),
    ("tolower(basename(x.y)) = a", "tolower(basename(x.y)) = a"),
    ("len(x.y) > 3", "len(x.y) > 3"),
    ("join(',', x.y) = a", 'join(",", x.y) = a'),
    ("x.y = 'tolower(z)'", 'x.y = "tolower(z)"'),
    ("x.y intersects (a, b)", "x.y intersects (a, b)"),
    ("x.y pmatch (/a, /b)", "x.y pmatch (/a, /b)"),
    ("x.y in mylist", "x.y in (mylist)"),  # a bare name after `in` is one value
]


@pytest.mark.parametrize("text,canonical", PARSES)
def test_parse_canonical(text, canonical):
    assert parse_condition(text).to_text() == canonical


ESCAPES = [
    (r'"a\"b"', 'a"b'), (r"'a\'b'", "a'b"), (r'"\x41\x42"', "AB"), (r'"tab\there"', "tab\there"),
    (r'"a\/b"', "a/b"), (r'"a\\b"', "a\\b"), (r'"a\ b"', "a\\b"), (r'"\b\f\n\r"', "\b\f\n\r"),
    ('"it\'s"', "it's"), ("'say \"hi\"'", 'say "hi"'),
]


@pytest.mark.parametrize("quoted,value", ESCAPES)
def test_quoted_values_and_escapes(quoted, value):
    tree = parse_condition(f"x.y = {quoted}")
    assert tree == Check(FieldRef("x.y"), "=", value)


def test_list_items_quoted():
    tree = parse_condition("x.y in ('a b', \"c,d\", e)")
    assert tree.value == ListValue(("a b", "c,d", "e"))


ERRORS = [
    ("", "filter input string is empty"),
    ("a or(b) and c", "unexpected token after ')', expecting 'or', 'and'"),
    ("a oreo", "expected blank or '(' after 'or'"),
    ("a andb", "expected blank or '(' after 'and'"),
    ("(a", "expected a ')' token"),
    ("a b", "unexpected token after 'a', expecting 'or', 'and'"),
    ("x.y", "expected a valid check operator: one of exists, <=, <, >=, >, ==, =, !=, glob, "
            "iglob, contains, icontains, bcontains, startswith, bstartswith, endswith, regex, "
            "intersects, in, pmatch"),
    ("x.y containsx", "expected a valid check operator: one of exists, <=, <, >=, >, ==, =, "
                      "!=, glob, iglob, contains, icontains, bcontains, startswith, "
                      "bstartswith, endswith, regex, intersects, in, pmatch"),
    ("x.y =", "expected a string value or a field with a valid transformer: val, tolower, "
              "toupper, b64, basename, len, join, concat, getopt"),
    ("x.y > abc", "expected a number value or a field with a valid transformer"),
    (r'x.y = "a\q"', "unsupported string escape sequence: \\q"),
    (r"x.y = 'a\"'", "invalid \\\" escape in '-quoted string"),
    (r'x.y = "a\'"', "invalid \\' escape in \"-quoted string"),
    (r'x.y = "\x4"', "truncated hex char escape sequence"),
    (r'x.y = "\xzz"', "invalid hex char escape sequence: zz"),
    (r'x.y = "a\\"', "expected a string value or a field with a valid transformer: val, "
                     "tolower, toupper, b64, basename, len, join, concat, getopt"),
    ("x.y[a", "expected a ']' token"),
    ("a AND b", "unexpected token after 'a', expecting 'or', 'and'"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_syntax_errors(text, message):
    with pytest.raises(LexError) as info:
        parse_condition(text)
    assert info.value.message == message


def test_depth_limit():
    deep = "(" * 1100 + "a" + ")" * 1100
    with pytest.raises(LexError, match="exceeded max depth limit of 1000"):
        parse_condition(deep)
    assert parse_condition("(" * 300 + "a" + ")" * 300).to_text() == "a"
