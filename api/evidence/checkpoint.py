"""Checkpoints: a signed statement of a ledger's tree root at one snapshot.

    statement = 0x04 || u8 1 || text ledger || u64 number || instant snapshot_at
                || u64 accounts || root || previous
    digest    = SHA-256(statement)          the value published and signed

``previous`` is the digest of checkpoint ``number - 1`` (zeros for the first), so the
checkpoints of a ledger are themselves a chain: one removed or rewritten breaks the next.
The snapshot is a read timestamp: the checkpoint covers exactly the facts committed at
or before it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.evidence.chain import ChainHead
from api.evidence.encoding import (
    FORMAT_VERSION,
    Domain,
    Encoder,
    EncodingError,
    format_instant,
    parse_instant,
)
from api.evidence.signing import Signer
from api.evidence.tree import (
    EMPTY,
    ROOT,
    Leaf,
    NodeStore,
    TreeUpdate,
    build_tree,
    read_window,
    update_tree,
)

NO_PREVIOUS = bytes(32)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckpointStatement:
    ledger: str
    number: int
    snapshot_at_ns: int
    accounts: int
    root: bytes
    previous: bytes = NO_PREVIOUS

    def encode(self) -> bytes:
        return bytes(
            Encoder(Domain.CHECKPOINT, FORMAT_VERSION)
            .text(self.ledger)
            .u64(self.number)
            .instant(self.snapshot_at_ns)
            .u64(self.accounts)
            .raw(self.root, 32)
            .raw(self.previous, 32)
        )

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    statement: CheckpointStatement
    signature: bytes
    key_name: str

    @property
    def digest(self) -> bytes:
        return self.statement.digest

    def document(self) -> dict[str, Any]:
        """The checkpoint as JSON: the ``ledger.checkpoint`` event's data, the log line,
        the ``checkpoint`` of a proof. Hashes and the signature in lowercase hex."""
        statement = self.statement
        return {
            "format": FORMAT_VERSION,
            "ledger": statement.ledger,
            "number": statement.number,
            "snapshot_at": format_instant(statement.snapshot_at_ns),
            "accounts": statement.accounts,
            "root": statement.root.hex(),
            "previous": statement.previous.hex(),
            "digest": self.digest.hex(),
            "signature": self.signature.hex(),
            "key": self.key_name,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Checkpoint:
        """Parse a checkpoint document; its ``digest`` must be its statement's."""
        try:
            if document["format"] != FORMAT_VERSION:
                raise EncodingError(f"checkpoint format {document['format']!r} is unknown")
            statement = CheckpointStatement(
                ledger=str(document["ledger"]),
                number=_integer(document["number"]),
                snapshot_at_ns=parse_instant(str(document["snapshot_at"])),
                accounts=_integer(document["accounts"]),
                root=_hash(document["root"]),
                previous=_hash(document["previous"]),
            )
            checkpoint = cls(
                statement=statement,
                signature=bytes.fromhex(str(document["signature"])),
                key_name=str(document["key"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EncodingError(f"not a checkpoint document: {exc}") from exc
        if checkpoint.digest.hex() != document.get("digest"):
            raise EncodingError("the document's digest is not its statement's")
        return checkpoint


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodingError(f"{value!r} is not an integer")
    return value


def _hash(value: object) -> bytes:
    data = bytes.fromhex(str(value))
    if len(data) != 32:
        raise EncodingError(f"{value!r} is not a 32-byte hash")
    return data


def make_checkpoint(
    store: NodeStore,
    signer: Signer,
    *,
    ledger: str,
    previous: CheckpointStatement | None,
    snapshot_at_ns: int,
    heads: Iterable[ChainHead],
) -> tuple[Checkpoint, TreeUpdate]:
    """The next checkpoint of ``ledger``: ``heads`` are the chains that changed since
    ``previous`` (new accounts included), sealed up to ``snapshot_at_ns``.

    The tree's nodes are written to ``store`` as version ``number``; the checkpoint row
    is the caller's to store, in the same transaction as the nodes.
    """
    if previous is not None and previous.ledger != ledger:
        raise ValueError(f"checkpoint of {previous.ledger} continued in {ledger}")
    if previous is not None and snapshot_at_ns <= previous.snapshot_at_ns:
        raise ValueError("a checkpoint's snapshot must be later than the previous one's")
    number = 1 if previous is None else previous.number + 1
    leaves = []
    for head in heads:
        if head.ledger != ledger:
            raise ValueError(f"a chain of {head.ledger} in a checkpoint of {ledger}")
        leaves.append(Leaf(account_id=head.account_id, length=head.length, head=head.head))
    if previous is None:  # every account is new: built at once, O(N log N) hashes
        if store.read_nodes(ledger, [ROOT]):
            raise ValueError(f"the store holds a tree of {ledger} already: pass its checkpoint")
        nodes = build_tree(ledger, leaves)
        store.write_nodes(ledger, number, nodes)
        root = nodes.get(ROOT)
        update = TreeUpdate(root.hash if root else EMPTY, len(leaves), 0, len(nodes))
    else:
        window = read_window(previous.accounts + len(leaves))
        update = update_tree(store, ledger, number, leaves, window=window)
    statement = CheckpointStatement(
        ledger=ledger,
        number=number,
        snapshot_at_ns=snapshot_at_ns,
        accounts=(0 if previous is None else previous.accounts) + update.inserted,
        root=update.root,
        previous=NO_PREVIOUS if previous is None else previous.digest,
    )
    checkpoint = Checkpoint(
        statement=statement,
        signature=signer.sign_digest(statement.digest),
        key_name=signer.key_name,
    )
    return checkpoint, update
