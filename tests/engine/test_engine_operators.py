"""Every operator x field type x missing value (docs/rules-language.md §4.3, §6.1, §6.2)."""
from __future__ import annotations

import pytest

from scaptools.engine import compile_filter
from scaptools.errors import RuleError

REC = {"s": "/usr/bin/Bash", "s2": "/usr/bin/Bash", "n": 42, "b": True, "ip": "10.1.2.3",
       "net": "192.168.1.7", "buf": "\x01\x02abc", "d": 1.5, "i": -3,
       "l": ["a", "b"], "nl": [1, 2], "args": ["-x", "-o", "out", "-vfile", "rest"],
       "b64": "aGVsbG8="}

CASES = [
    # string
    ("t.s = /usr/bin/Bash", True), ("t.s == '/usr/bin/Bash'", True), ("t.s = /usr/bin/bash", False),
    ("t.s != /usr/bin/bash", True), ("t.s != /usr/bin/Bash", False),
    # ordering on strings is byte-wise text comparison with a NUMBER constant ('/' < '0')
    ("t.s < 5", True), ("t.s <= 0", True), ("t.s > 0", False), ("t.s >= 1", False),
    ("t.s contains bin", True), ("t.s contains BIN", False), ('t.s contains ""', True),
    ("t.s icontains BIN/b", True), ("t.s icontains xyz", False),
    ("t.s startswith /usr", True), ("t.s startswith usr", False), ('t.s startswith ""', True),
    ("t.s endswith Bash", True), ("t.s endswith bash", False),
    ("t.s glob /usr/*", True), ("t.s glob '/usr/b?n/[A-Z]ash'", True),
    ("t.s glob '/usr/bin/[!B]ash'", False), ("t.s glob '/usr/bin/[^B]ash'", False),
    ("t.s glob '*[[:upper:]]ash'", True), ("t.s glob /usr", False),
    ("t.s iglob /USR/*/bash", True), ("t.s iglob /etc/*", False),
    ("t.s regex '/usr/.*'", True), ("t.s regex 'usr'", False), ("t.s regex '.*Ba(sh|t)'", True),
    ("t.s regex '(/[[:alpha:]]+)+'", True), ("t.s regex '[^[:upper:]]*'", False),
    ("t.s in (/bin/sh, /usr/bin/Bash)", True), ("t.s in (/bin/sh)", False),
    ("t.s intersects (/usr/bin/Bash)", True),
    ("t.s pmatch (/usr/bin)", True), ("t.s pmatch (/usr/b)", False), ("t.s pmatch (/usr/*/Bash)", True),
    ("t.s exists", True),
    ("t.s = val(t.s2)", True), ("t.s != val(t.s2)", False), ("t.s startswith val(t.s2)", True),
    ("tolower(t.s) = /usr/bin/bash", True), ("toupper(t.s) = /USR/BIN/BASH", True),
    ("basename(t.s) = Bash", True), ("len(t.s) = 13", True), ("len(t.s) > 20", False),
    ("tolower(t.s) = val(t.s2)", False), ("concat(t.s, '!') endswith 'Bash!'", True),
    ("t.s = oneof (/usr/bin/Bash, x)", True), ("t.s startswith anyof (/x, /usr)", True),
    ("t.s startswith allof (/x, /usr)", False), ("t.s contains allof (usr, bin)", True),
    ("t.s contains oneof (usr, bin)", False), ("t.s != allof (a, b)", True),
    ("t.s = anyof ()", False), ("t.s != allof ()", False),
    # numbers
    ("t.n = 42", True), ("t.n != 42", False), ("t.n < 43", True), ("t.n <= 41", False),
    ("t.n > 41", True), ("t.n >= 43", False), ("t.n in (1, 42)", True),
    ("t.n intersects (7)", False), ("t.n exists", True), ("t.n = ' 42'", True),
    ("t.i = -3", True), ("t.i < 0", True), ("t.d > 1", True), ("t.d = 1.5", True),
    # bool
    ("t.b = true", True), ("t.b = false", False), ("t.b != false", True), ("t.b in (true)", True),
    # ip
    ("t.ip = 10.1.2.3", True), ("t.ip = 10.1.2.4", False), ("t.ip != 10.1.2.4", True),
    ("t.ip = ::1", False), ("t.ip != ::1", True), ("t.ip in (1.1.1.1, 10.1.2.3)", True),
    ("t.net = 192.168.0.0/16", True), ("t.net = 10.0.0.0/8", False),
    ("t.net != 10.0.0.0/8", True), ("t.net in (10.0.0.0/8, 192.168.1.0/24)", True),
    ("t.net in (::/0, 10.0.0.0/8)", False),
    # byte buffer
    ("t.buf bcontains 616263", True), ("t.buf bstartswith 0102", True),
    ("t.buf bstartswith 02", False), ("t.buf contains abc", True), ("t.buf = abc", False),
    ("b64(t.s) exists", False), ("b64(t.b64) = hello", True), ("b64(t.b64) bstartswith 6865", True),
    ("len(b64(t.b64)) = 5", True),
    ("join(',', t.l) = 'a,b'", True), ("join('-', t.args) startswith '-x--o'", True),
    ("concat(t.s, t.s2) = '/usr/bin/Bash/usr/bin/Bash'", True),
    ("getopt(t.args, 'xo:v:')[o] = out", True), ("getopt(t.args, 'xo:v:')[v] = file", True),
    ("getopt(t.args, 'xo:v:')[x] = ''", True), ("getopt(t.args, 'xo:v:')[q] exists", False),
    ("getopt(t.args, 'xo:v:') intersects ('-oout')", True),
    # lists
    ("t.l in (a, b, c)", True), ("t.l in (a)", False), ("t.l intersects (b, z)", True),
    ("t.l intersects (z)", False), ("t.l exists", True), ("len(t.l) = 2", True),
    ("t.nl in (1, 2, 3)", True), ("t.nl intersects (3)", False),
    ("tolower(t.l) intersects (a)", True),
]


@pytest.mark.parametrize("cond,expected", CASES)
def test_operator_on_present_value(cond, expected, typed_fieldset, event):
    assert compile_filter(cond, typed_fieldset)(event(REC)) is expected


@pytest.mark.parametrize("cond,_", CASES)
def test_every_check_on_missing_value_is_false(cond, _, typed_fieldset, event):
    """§6.1: a check whose field has no value is false for every operator; `not` makes it true."""
    empty = event({"l": [], "nl": []})
    assert compile_filter(cond, typed_fieldset)(empty) is False
    assert compile_filter(f"not ({cond})", typed_fieldset)(empty) is True


def test_missing_right_side_of_val_is_false(typed_fieldset, event):
    assert compile_filter("t.s = val(t.s2)", typed_fieldset)(event({"s": "x"})) is False
    assert compile_filter("t.s != val(t.s2)", typed_fieldset)(event({"s": "x"})) is False


def test_na_text_is_not_a_missing_value(typed_fieldset, event):
    assert compile_filter("t.s = '<NA>'", typed_fieldset)(event({})) is False
    assert compile_filter("t.s != '<NA>'", typed_fieldset)(event({})) is False


ERRORS = [
    ("t.n contains 4", "'contains' operator not supported for numeric filters"),
    ("t.b startswith t", "'startswith' operator not supported for numeric filters"),
    ("t.ip contains 1", "'contains' operator not supported for ip address and network filters"),
    ("t.buf icontains a", "'icontains' operator not supported for buffer filters"),
    ("t.l = a", "'=' operator not supported for list filters"),
    ("t.s bcontains 00", "'bcontains' operator not supported for string filters"),
    ("t.n = 0x10", "0x10 is not a valid number"),
    ("t.n = 1.5", "1.5 is not a valid number"),
    ("t.n in (1, x)", "x is not a valid number"),
    ("t.b = yes", "filter error: unrecognized boolean value yes"),
    ("t.ip = 1.2.3", "unrecognized IPv4 address 1.2.3"),
    ("t.net = 10.0.0.0", "unrecognized IP network 10.0.0.0"),
    ("t.buf bcontains 0g", "filter error: bcontains and bstartswith operator support hex strings only"),
    ("t.s regex '\\\\d+'", "invalid regex pattern: \\d+"),
    ("t.s regex '(?i)bash'", "invalid regex pattern: (?i)bash"),
    ("t.s regex 'a.*?b'", "invalid regex pattern: a.*?b"),
    ("t.s = 'a\\x00b'", "filter error: filter value cannot contain a NUL byte (\\x00)"),
    ("t.x = 1", "filter_check called with nonexistent field t.x"),
    ("t.s = val(t.n)", "field 't.s' has type 'string' while the right-hand side field 't.n' "
                       "has incompatible type 'uint64'"),
    ("t.s pmatch val(t.s2)", "operator 'pmatch' doesn't support right-hand side fields"),
    ("tolower(t.n) = a", "can't add field transformer: type 'uint64' is not supported by "
                         "'tolower' transformer applied on field 't.n'"),
    ("tolower(t.s)[1] = a", "filter error: transformer 'tolower' does not support field arguments"),
    ("t.s[1] = a", "field 't.s' does not allow nor require an argument but one is provided: 1"),
    ("some_macro", "Undefined macro 'some_macro' used in filter."),
]


@pytest.mark.parametrize("cond,message", ERRORS)
def test_compile_errors(cond, message, typed_fieldset):
    with pytest.raises(RuleError) as info:
        compile_filter(cond, typed_fieldset)
    assert info.value.message == message
    assert info.value.code == "LOAD_ERR_COMPILE_CONDITION"
