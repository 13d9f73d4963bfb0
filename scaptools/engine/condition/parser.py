"""Recursive-descent parser for conditions (docs/rules-language.md §4.2).

``parse_condition(text)`` returns a tree of ``condition.tree`` nodes or raises
``LexError`` with Falco's message. The grammar, tie-breaking and quirks
(Q1: ``or(`` takes the group as the operand directly) follow §4.2; the
modifier look-ahead follows §4.4.
"""
from __future__ import annotations

import sys

from scaptools.engine.condition.lexer import (BLANKS, LIST_OPS, MODIFIERS, NOT_BLANKS, NUM_OPS,
                                              RE_ARG_BARE, RE_BARE, RE_FIELD, RE_IDENT, RE_NUMBER,
                                              SYM_OPS, TRANSFORMERS, WORD_OPS, LexError,
                                              scan_quoted)
from scaptools.engine.condition.tree import (And, Check, Computed, FieldRef, ListValue, Literal,
                                             MacroRef, Not, Or, Transform)

MAX_DEPTH = 1000  # Falco's limit for conditions (§4.2)
_OPS_TEXT = ", ".join(("exists",) + NUM_OPS + SYM_OPS + WORD_OPS + LIST_OPS)


def parse_condition(text: str, max_depth: int = MAX_DEPTH):
    """Parse a whole condition; raise ``LexError`` on any syntax error."""
    limit = sys.getrecursionlimit()
    if limit < 4 * max_depth:  # several Python frames per nesting level
        sys.setrecursionlimit(4 * max_depth)
    try:
        return Parser(text, max_depth).parse()
    finally:
        sys.setrecursionlimit(limit)


class Parser:
    """One parse of one condition text."""

    def __init__(self, text: str, max_depth: int = MAX_DEPTH):
        self.text = text
        self.pos = 0
        self.last = ""
        self.depth = 0
        self.max_depth = max_depth

    # -- low-level helpers -------------------------------------------------
    def error(self, message: str) -> LexError:
        return LexError(message, self.pos)

    def blanks(self, chars: str = BLANKS) -> bool:
        """Skip blanks; True if at least one was skipped."""
        start, text = self.pos, self.text
        while self.pos < len(text) and text[self.pos] in chars:
            self.pos += 1
        return self.pos > start

    def lit(self, word: str) -> bool:
        """Consume ``word`` if the text continues with it."""
        if self.text.startswith(word, self.pos):
            self.pos += len(word)
            self.last = word
            return True
        return False

    def regex(self, pattern) -> str | None:
        m = pattern.match(self.text, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        self.last = m.group()
        return self.last

    def quoted(self) -> str | None:
        res = scan_quoted(self.text, self.pos)
        if res is None:
            return None
        self.last = self.text[self.pos:res[1]]
        self.pos = res[1]
        return res[0]

    def peek(self, chars: str) -> bool:
        return self.pos < len(self.text) and self.text[self.pos] in chars

    # -- grammar -----------------------------------------------------------
    def parse(self):
        if not self.text:
            raise self.error("filter input string is empty")
        self.blanks()
        node = self.or_expr()
        self.blanks()
        if self.pos != len(self.text):
            raise self.error(f"unexpected token after '{self.last}', expecting 'or', 'and'")
        return node

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error(f"exceeded max depth limit of {self.max_depth}")

    def or_expr(self):
        self.enter()
        children = [self.and_expr()]
        self.blanks()
        while self.lit("or"):
            children.append(self.bool_rhs("or", self.and_expr))
            self.blanks()
        self.depth -= 1
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self):
        self.enter()
        children = [self.not_expr()]
        self.blanks()
        while self.lit("and"):
            children.append(self.bool_rhs("and", self.not_expr))
            self.blanks()
        self.depth -= 1
        return children[0] if len(children) == 1 else And(tuple(children))

    def bool_rhs(self, word: str, parse_next):
        """After ``and``/``or``: blanks then an operand, or ``(`` directly (quirk Q1)."""
        if self.blanks():
            return parse_next()
        if self.lit("("):
            return self.group_rest()
        raise self.error(f"expected blank or '(' after '{word}'")

    def not_expr(self):
        self.enter()
        self.blanks()
        negate = False
        while True:
            save = self.pos
            if self.lit("not") and self.blanks(NOT_BLANKS):
                negate = not negate
                continue
            self.pos = save
            break
        if self.lit("not("):
            node = Not(self.group_rest())
        else:
            node = self.check()
        self.depth -= 1
        return Not(node) if negate else node

    def group_rest(self):
        self.blanks()
        node = self.or_expr()
        self.blanks()
        if not self.lit(")"):
            raise self.error("expected a ')' token")
        return node

    def check(self):
        start = self.pos
        if self.lit("("):
            return self.group_rest()
        operand = self.operand()
        if operand is not None:
            self.blanks()
            return self.predicate(operand, start)
        name = self.regex(RE_IDENT)
        if name is not None:
            return MacroRef(name, start)
        raise self.error("expected a field, a transformer, a macro name or '('")

    def operand(self):
        """A field or a transformer call at the current position, else None."""
        field = self.field()
        if field is not None:
            return field
        return self.transformer()

    def field(self):
        name = self.regex(RE_FIELD)
        if name is None:
            return None
        return FieldRef(name, self.field_arg())

    def field_arg(self) -> str | None:
        if not self.lit("["):
            return None
        value = self.quoted()
        if value is None:
            value = self.regex(RE_ARG_BARE)
        if value is None or not self.lit("]"):
            raise self.error("expected a ']' token")
        return value

    def transformer(self):
        for name in TRANSFORMERS:
            if self.text.startswith(name + "(", self.pos):
                self.pos += len(name) + 1
                self.last = name + "("
                return self.transformer_rest(name)
        return None

    def transformer_rest(self, name: str):
        args = [self.t_arg()]
        self.blanks()
        while self.lit(","):
            args.append(self.t_arg())
            self.blanks()
        if not self.lit(")"):
            raise self.error("expected a ')' token")
        return Transform(name, tuple(args), self.field_arg())

    def t_arg(self):
        self.blanks()
        number = self.regex(RE_NUMBER)
        if number is not None:
            return Literal(number)
        text = self.quoted()
        if text is not None:
            return Literal(text)
        if self.lit("("):
            return self.t_list()
        item = self.operand()
        if item is None:
            raise self.error("expected a field, a transformer, a string or a number")
        return item

    def t_list(self) -> tuple:
        items = []
        self.blanks()
        if self.lit(")"):
            return ()
        while True:
            self.blanks()
            items.append(self.t_arg())
            self.blanks()
            if self.lit(")"):
                return tuple(items)
            if not self.lit(","):
                raise self.error("expected a ')' token")

    # -- predicates --------------------------------------------------------
    def predicate(self, operand, start: int):
        if self.lit("exists"):
            return Check(operand, "exists", None, None, start)
        for op in NUM_OPS:
            if self.lit(op):
                self.blanks()
                return Check(operand, op, self.num_rhs(), None, start)
        for op in SYM_OPS + WORD_OPS:
            if self.text.startswith(op, self.pos):
                after = self.pos + len(op)
                if op in WORD_OPS and (after >= len(self.text) or self.text[after] not in BLANKS):
                    continue
                self.lit(op)
                return self.string_predicate(operand, op, start)
        for op in LIST_OPS:
            if self.lit(op):
                self.blanks()
                return Check(operand, op, self.list_rhs(), None, start)
        raise self.error(f"expected a valid check operator: one of {_OPS_TEXT}")

    def string_predicate(self, operand, op: str, start: int):
        modifier = self.modifier()
        if modifier is not None:
            return Check(operand, op, self.list_value(), modifier, start)
        self.blanks()
        return Check(operand, op, self.str_rhs(), None, start)

    def modifier(self) -> str | None:
        """§4.4: ``op __ modifier __ ( '(' | IDENT not and/or/not )``."""
        save = self.pos
        if self.blanks():
            word = next((w for w in MODIFIERS if self.lit(w)), None)
            if word is not None and self.blanks():
                if self.peek("("):
                    return word
                m = RE_IDENT.match(self.text, self.pos)
                if m is not None and m.group() not in ("and", "or", "not"):
                    return word
        self.pos = save
        return None

    def computed(self):
        if self.text.startswith("val(", self.pos):
            self.pos += 4
            self.last = "val("
            self.blanks()
            field = self.field()
            self.blanks()
            if field is None or not self.lit(")"):
                raise self.error("expected a field inside val()")
            arg = self.field_arg()
            if arg is not None:
                raise self.error("filter error: transformer 'val' does not support field arguments")
            return Computed(field, True)
        tr = self.transformer()
        return Computed(tr) if tr is not None else None

    def num_rhs(self):
        value = self.computed()
        if value is None:
            value = self.regex(RE_NUMBER)
        if value is None:
            raise self.error("expected a number value or a field with a valid transformer")
        return value

    def str_rhs(self):
        value = self.computed()
        if value is None:
            value = self.quoted()
        if value is None:
            value = self.regex(RE_BARE)
        if value is None:
            raise self.error("expected a string value or a field with a valid transformer: "
                             + ", ".join(("val",) + TRANSFORMERS))
        return value

    def list_rhs(self):
        if self.peek("("):
            return self.list_value()
        value = self.computed()
        if value is not None:
            return value
        name = self.regex(RE_IDENT)
        if name is None:
            raise self.error("expected a list, a list name or a field with a valid transformer")
        return ListValue((name,))

    def list_value(self) -> ListValue:
        if not self.lit("("):
            name = self.regex(RE_IDENT)
            if name is None:
                raise self.error("expected a list or a list name")
            return ListValue((name,))
        items = []
        self.blanks()
        if self.lit(")"):
            return ListValue(())
        while True:
            self.blanks()
            value = self.quoted()
            if value is None:
                value = self.regex(RE_BARE)
            if value is None:
                raise self.error("expected a list value")
            items.append(value)
            self.blanks()
            if self.lit(")"):
                return ListValue(tuple(items))
            if not self.lit(","):
                raise self.error("expected a ')' token")
