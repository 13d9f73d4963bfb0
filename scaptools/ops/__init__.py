"""Whole-capture operations as library functions: the work behind ``scap convert``,
``scap info``, ``scap slice``, ``scap merge``, ``scap export``, ``scap list-fields``
and ``scap list-plugins``.

Each takes paths or file objects and plain options, writes its output or returns
its result, and raises a ``ScapError`` for bad input; the commands in
``scaptools.cli`` only parse options, call these and print.
"""
