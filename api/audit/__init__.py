"""The ledger audit: a database's invariants checked from one read-only snapshot.

``python -m api.audit`` (see ``__main__``); ``run_audit`` for code and tests.
"""

from api.audit.report import AuditReport, Finding
from api.audit.service import run_audit

__all__ = ["AuditReport", "Finding", "run_audit"]
