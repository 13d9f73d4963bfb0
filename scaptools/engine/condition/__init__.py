"""The condition language (docs/rules-language.md §4-§6): lexer, parser, tree, values,
transformers, compiler (condition tree -> Python function), index."""
