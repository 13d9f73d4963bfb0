"""sysdig's text for events: default and ``-j`` lines (``lines``), ``-p`` formats
(``formatting``), print filters (``filtering``) and ``scap print`` itself (``printer``)."""
