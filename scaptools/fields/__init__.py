"""Field extractors: the ``FieldSet`` interface and the syscall fields."""
from .base import FieldInfo, FieldSet, ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED

__all__ = ["FieldInfo", "FieldSet", "ARG_NONE", "ARG_OPTIONAL", "ARG_REQUIRED"]
