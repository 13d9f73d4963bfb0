"""Scale out: ``scap replay`` and ``scap test`` on a Dask cluster (``--scheduler``).

``units``: the captures of a run (files, folders, globs, ``s3://`` prefixes) and
their units, (capture, byte range) cut by the planner of ``scap replay -j``;
``s3``: listing captures in S3 and reading an object with ranged GETs;
``bundle``: the rules as checked on the client, compiled again on each worker;
``worker``: what runs on the workers (the compiled rules, planning, one unit);
``client``: submitting units and writing their alerts in single-process order;
``specs``: ``scap test`` specs as tasks; ``connect``: the scheduler (``local:N``,
an address, a scheduler file); ``command``: the glue the CLI commands call.

Dask is an extra (``pip install 'scaptools[dask]'``): nothing here imports it
before a run asks for a scheduler.
"""
