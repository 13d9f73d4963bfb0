"""The rules-file stages in Falco's names (docs/design.md §7): reader -> collector ->
compiler, driven by load (``load_rules``)."""
