"""Tamper evidence: per-account hash chains, signed checkpoints, inclusion proofs, and
the verification of a whole ledger from its rows (docs/SECURITY.md, "Tamper evidence").

Pure: no Spanner, no HTTP framework, no settings; the KMS signer (kms.py) is the one
module that talks to a network, through a session it is handed or builds.

The path of a seal, in the order the engine runs it:

    a commit writes rows         AccountChangeRow (opened, closed, reopened), EntryRow
    the sealer, after commits    rows.py -> sealer.seal_account: facts (encoding.py)
                                 chained per account (chain.py); seals go on the rows
    each interval                checkpoint.make_checkpoint: the changed heads into the
                                 tree (tree.py, a NodeStore), its root signed (signing.py,
                                 kms.py), stored and published
    a proof endpoint             proof.build_proof -> InclusionProof.document()
    python -m api.audit --verify verify.LedgerVerifier (or verify_ledger) -> findings
"""

from api.evidence.chain import ChainHead, genesis, link
from api.evidence.checkpoint import Checkpoint, CheckpointStatement, make_checkpoint
from api.evidence.encoding import (
    AccountFact,
    AccountTerms,
    EntryFact,
    Fact,
    TransferTerms,
    encode_fact,
    ns_of,
)
from api.evidence.findings import FINDING_KINDS, EvidenceReport, Finding
from api.evidence.proof import (
    HistoryMismatch,
    InclusionProof,
    ProofError,
    VerifiedAccount,
    build_proof,
    verify_proof,
)
from api.evidence.rows import AccountChangeRow, AccountRow, EntryRow, TransferRow
from api.evidence.sealer import Sealing, seal_account
from api.evidence.signing import LocalSigner, Signer, SigningError, verify_signature
from api.evidence.tree import Leaf, MemoryNodeStore, NodeReader, NodeStore
from api.evidence.verify import LedgerVerifier, StoredCheckpoint, verify_ledger

__all__ = [
    "FINDING_KINDS",
    "AccountChangeRow",
    "AccountFact",
    "AccountRow",
    "AccountTerms",
    "ChainHead",
    "Checkpoint",
    "CheckpointStatement",
    "EntryFact",
    "EntryRow",
    "EvidenceReport",
    "Fact",
    "Finding",
    "HistoryMismatch",
    "InclusionProof",
    "Leaf",
    "LedgerVerifier",
    "LocalSigner",
    "MemoryNodeStore",
    "NodeReader",
    "NodeStore",
    "ProofError",
    "Sealing",
    "Signer",
    "SigningError",
    "StoredCheckpoint",
    "TransferRow",
    "TransferTerms",
    "VerifiedAccount",
    "build_proof",
    "encode_fact",
    "genesis",
    "link",
    "make_checkpoint",
    "ns_of",
    "seal_account",
    "verify_ledger",
    "verify_proof",
    "verify_signature",
]
