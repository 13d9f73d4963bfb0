"""Replaying captures through Falco rules (``scap replay``, ``scap validate``, ``scap test``).

``config``: Falco options, rules files, the engine and the alert formatter;
``loop``: the events of captures routed by source to the engine (``routes``),
counted in ``stats``; ``parallel``: the same over ``-j N`` forked workers.
"""
