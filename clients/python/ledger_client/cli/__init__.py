"""The ``ledger`` command: the API from a terminal (tables) or a script (``--json``)."""
