"""Lists (one-level nesting, docs/rules-language.md §2.3; textual substitution, §5.5) and macros
(parsed independently, expanded as subtrees, §5.6), as Falco's compiler resolves them."""
from __future__ import annotations

from scaptools.engine.condition.lexer import LexError
from scaptools.engine.condition.parser import parse_condition
from scaptools.engine.condition.tree import And, MacroRef, Not, Or
from scaptools.engine.diagnostics import LOAD_ERR_COMPILE_CONDITION, LOAD_ERR_VALIDATE, fail
from scaptools.engine.rules.textual import list_pattern, substitute_lists


def parse_text(text: str, ctx):
    """Parse a condition; a syntax error is LOAD_ERR_COMPILE_CONDITION at the parser's
    position in ``text``."""
    try:
        return parse_condition(text)
    except LexError as exc:
        raise fail(LOAD_ERR_COMPILE_CONDITION, exc.message,
                   ctx.in_condition(text, exc.pos)) from None


class ListTable:
    """Compiled list items in definition order, with textual substitution.

    An item naming a list whose index is below this list's visibility brings that
    list's items as written (itself included, when the list was appended to)."""

    def __init__(self, col):
        self.col = col
        self.entries = []
        for info in sorted(col.lists.values(), key=lambda li: li.index):
            items = []
            for item in info.items:
                other = col.lists.get(item)
                if other is not None and other.index < info.visibility:
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
    """Parses every macro, then resolves the macro references of each, in index order,
    with the macros it can see; rules see every macro (§5.6)."""

    def __init__(self, col, lists: ListTable):
        self.col = col
        self.lists = lists
        self.trees = {}

    def compile_all(self) -> None:
        macros = sorted(self.col.macros.values(), key=lambda m: m.index)
        for m in macros:
            self.trees[m.name] = parse_text(self.lists.substitute(m.condition), m.cond_ctx)
        for m in macros:
            self.trees[m.name] = self.resolve(self.trees[m.name], m.visibility, m.ctx,
                                              m.condition)

    def expand_rule(self, tree, ctx, text: str):
        """``tree`` with every macro reference replaced; errors point into ``text``."""
        return self.resolve(tree, None, ctx, text)

    def resolve(self, tree, visibility, ctx, text: str):
        known = {m.name: self.trees[m.name] for m in self.col.macros.values()
                 if visibility is None or m.index < visibility}
        errors, unknown, resolved = [], [], []
        tree = _visit(tree, known, [], errors, unknown, resolved)
        if errors or unknown:
            message, pos = errors[0] if errors else \
                (f"Undefined macro '{unknown[0][0]}' used in filter.", unknown[0][1])
            raise fail(LOAD_ERR_VALIDATE, message, ctx.in_condition(text, pos))
        for name in resolved:
            self.col.macros[name].used = True
        return tree


def _visit(node, known: dict, path: list, errors: list, unknown: list, resolved: list):
    """Falco's macro resolver: substitute, recursively, the macros ``known``; a macro met
    again on its own path is a reference loop."""
    if isinstance(node, MacroRef):
        if node.name not in known:
            unknown.append((node.name, node.pos))
            return node
        if node.name in path:
            errors.append((f"reference loop in macro '{node.name}'", node.pos))
            unknown.append((node.name, node.pos))
            return node
        path.append(node.name)
        new = _visit(known[node.name], known, path, errors, unknown, resolved)
        resolved.append(node.name)
        path.pop()
        return new
    if isinstance(node, (And, Or)):
        kids = tuple(_visit(c, known, path, errors, unknown, resolved) for c in node.children)
        return node if kids == node.children else type(node)(kids)
    if isinstance(node, Not):
        child = _visit(node.child, known, path, errors, unknown, resolved)
        return node if child is node.child else Not(child)
    return node
