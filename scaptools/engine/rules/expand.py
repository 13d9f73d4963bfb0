"""Lists (one-level nesting, docs/rules-language.md §2.3; textual substitution, §5.5) and macros
(parsed independently, expanded as subtrees, §5.6)."""
from __future__ import annotations

from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import parse_condition
from scaptools.engine.condition.tree import And, MacroRef, Not, Or
from scaptools.engine.diagnostics import LOAD_ERR_COMPILE_CONDITION, LOAD_ERR_VALIDATE, fail
from scaptools.engine.rules.textual import list_pattern, substitute_lists


def parse_text(text: str, ctx):
    """Parse a condition; a syntax error is LOAD_ERR_COMPILE_CONDITION at ``ctx``."""
    try:
        return parse_condition(text)
    except LexError as exc:
        raise fail(LOAD_ERR_COMPILE_CONDITION, exc.message, ctx) from None


class ListTable:
    """Compiled list items in definition order, with textual substitution."""

    def __init__(self, col):
        self.col = col
        self.entries = []
        for info in sorted(col.lists.values(), key=lambda li: li.index):
            items = []
            for item in info.items:
                other = col.lists.get(item)
                if other is not None and other is not info and other.index < info.visibility:
                    other.used = True
                    items.extend(other.items)
                else:
                    items.append(item)
            self.entries.append((info.name, items, list_pattern(info.name)))

    def substitute(self, text: str) -> str:
        used = set()
        text = substitute_lists(text, self.entries, used)
        for name in used:
            self.col.lists[name].used = True
        return text


def compile_lists(col) -> ListTable:
    return ListTable(col)


class MacroExpander:
    """Parses every macro and expands macro references in trees."""

    def __init__(self, col, lists: ListTable):
        self.col = col
        self.lists = lists
        self.parsed = {}
        self.expanded = {}

    def compile_all(self) -> None:
        macros = sorted(self.col.macros.values(), key=lambda m: m.index)
        for m in macros:
            self.parsed[m.name] = parse_text(self.lists.substitute(m.condition), m.cond_ctx)
        for m in macros:
            self.expand_macro(m.name, ())

    def expand_macro(self, name: str, stack: tuple):
        if name in self.expanded:
            return self.expanded[name]
        macro = self.col.macros[name]
        if name in stack:
            raise fail(LOAD_ERR_VALIDATE, f"reference loop in macro '{name}'", macro.cond_ctx)
        tree = self.expand(self.parsed[name], macro.visibility, macro.cond_ctx, stack + (name,))
        self.expanded[name] = tree
        return tree

    def expand_rule(self, tree, ctx):
        return self.expand(tree, None, ctx, ())

    def expand(self, node, limit, ctx, stack):
        """Replace every MacroRef by the macro's expanded tree (§5.6)."""
        if isinstance(node, MacroRef):
            macro = self.col.macros.get(node.name)
            if macro is None or (limit is not None and macro.index >= limit):
                raise fail(LOAD_ERR_VALIDATE, f"Undefined macro '{node.name}' used in filter.",
                           ctx)
            macro.used = True
            return self.expand_macro(node.name, stack)
        if isinstance(node, (And, Or)):
            kids = tuple(self.expand(c, limit, ctx, stack) for c in node.children)
            return node if kids == node.children else type(node)(kids)
        if isinstance(node, Not):
            child = self.expand(node.child, limit, ctx, stack)
            return node if child is node.child else Not(child)
        return node
