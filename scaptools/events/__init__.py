"""Events: the ``Event`` type and parameter decoding driven by the event table."""
from .event import Event, NO_TID, PLUGINEVENT

__all__ = ["Event", "NO_TID", "PLUGINEVENT"]
