"""The checkpoint tree: a compact sparse Merkle tree over every chain head of a ledger.

Each account has a fixed place, the 256 bits of ``account_key(ledger, account)`` read
from the first; its leaf sits at the shallowest depth where no other account shares
the path (a subtree with one leaf *is* that leaf), so the tree has about log2(N) levels
and one shape for one set of leaves, however it was built:

    leaf  = SHA-256(0x00 || key || u64 length || head)
    node  = SHA-256(0x01 || left || right)         an empty side is 32 zero bytes
    root  = the node (or leaf) at depth 0; EMPTY for a ledger without accounts

Updating k leaves reads and writes the nodes on their k paths, so a checkpoint costs
O(k log N) however large the ledger is (bench/evidence.py measures it). Stored nodes are
plain rows (``NodeStore``); an interior node keeps both children's hashes, so neither an
update nor a proof reads anything off the path.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from api.evidence.encoding import Domain, Encoder

EMPTY = bytes(32)
KEY_BITS = 256
# Levels read per round trip when looking for a leaf, when the tree's size is not known:
# one round for ledgers up to ~2^20 accounts (leaves sit ~log2 N + 1 deep), two beyond.
READ_WINDOW = 24


def read_window(accounts: int) -> int:
    """Levels to read at once in a tree of ``accounts`` leaves: deep enough for nearly
    every leaf (log2 N + 4; deeper ones take another round), no deeper."""
    return max(accounts, 1).bit_length() + 4


def account_key(ledger: str, account_id: str) -> bytes:
    return hashlib.sha256(bytes(Encoder(Domain.KEY).text(ledger).text(account_id))).digest()


def leaf_hash(key: bytes, length: int, head: bytes) -> bytes:
    return hashlib.sha256(
        bytes(Encoder(Domain.LEAF).raw(key, 32).u64(length).raw(head, 32))
    ).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(bytes((Domain.NODE,)) + left + right).digest()


def bit(key: bytes, depth: int) -> int:
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


class NodePath(NamedTuple):
    """A node's place: the first ``depth`` bits of a key, the bits after them zero.
    (A tuple: an update hashes millions of them, and a tuple's hash is C's.)"""

    depth: int
    prefix: bytes

    @classmethod
    def of(cls, key: bytes, depth: int) -> NodePath:
        whole, rest = divmod(depth, 8)
        prefix = key[:whole]
        if rest:
            prefix += bytes((key[whole] & (0xFF << (8 - rest)) & 0xFF,))
        return cls(depth, prefix)


ROOT = NodePath(0, b"")


@dataclass(frozen=True, kw_only=True, slots=True)
class Leaf:
    """One account's chain head, as a checkpoint commits to it."""

    account_id: str
    length: int
    head: bytes


@dataclass(frozen=True, slots=True)
class LeafNode:
    key: bytes
    leaf: Leaf
    hash: bytes


@dataclass(frozen=True, slots=True)
class Interior:
    left: bytes
    right: bytes
    hash: bytes

    @classmethod
    def of(cls, left: bytes, right: bytes) -> Interior:
        return cls(left, right, node_hash(left, right))

    def side(self, which: int) -> bytes:
        return self.right if which else self.left


Node = LeafNode | Interior


def leaf_node(ledger: str, leaf: Leaf) -> LeafNode:
    key = account_key(ledger, leaf.account_id)
    return LeafNode(key, leaf, leaf_hash(key, leaf.length, leaf.head))


class NodeReader(Protocol):
    def read_nodes(
        self, ledger: str, paths: Collection[NodePath], *, version: int | None = None
    ) -> dict[NodePath, Node]:
        """The nodes at ``paths`` that exist, as of checkpoint ``version`` (None: the
        latest); a path with no node is left out."""
        ...


class NodeStore(NodeReader, Protocol):
    def write_nodes(self, ledger: str, version: int, nodes: Mapping[NodePath, Node]) -> None:
        """Put ``nodes`` (new or replaced; a tree without deletions never drops one) as
        written by checkpoint ``version``."""
        ...


@dataclass
class MemoryNodeStore:
    """Every version of every node, in memory: the store tests and benchmarks use."""

    _nodes: dict[tuple[str, NodePath], tuple[list[int], list[Node]]] = field(default_factory=dict)
    reads: int = 0  # paths asked for, to show what an update costs
    writes: int = 0

    def read_nodes(
        self, ledger: str, paths: Collection[NodePath], *, version: int | None = None
    ) -> dict[NodePath, Node]:
        self.reads += len(paths)
        found: dict[NodePath, Node] = {}
        for path in paths:
            history = self._nodes.get((ledger, path))
            if history is None:
                continue
            versions, nodes = history
            at = len(versions) if version is None else bisect.bisect_right(versions, version)
            if at:
                found[path] = nodes[at - 1]
        return found

    def paths(self, ledger: str) -> list[NodePath]:
        """Every path any version of ``ledger``'s tree has a node at."""
        return [path for (name, path) in self._nodes if name == ledger]

    def read_leaves(self, ledger: str, *, version: int | None = None) -> dict[str, Leaf]:
        """Every leaf of the tree as of ``version``: what a verifier compares chains with
        (a store on Spanner reads the leaf rows at the checkpoint's commit timestamp)."""
        nodes = self.read_nodes(ledger, self.paths(ledger), version=version)
        return {n.leaf.account_id: n.leaf for n in nodes.values() if isinstance(n, LeafNode)}

    def write_nodes(self, ledger: str, version: int, nodes: Mapping[NodePath, Node]) -> None:
        self.writes += len(nodes)
        for path, node in nodes.items():
            versions, stored = self._nodes.setdefault((ledger, path), ([], []))
            if versions and versions[-1] > version:
                raise ValueError(f"version {version} after {versions[-1]}")
            if versions and versions[-1] == version:
                stored[-1] = node
            else:
                versions.append(version)
                stored.append(node)


@dataclass(frozen=True)
class TreeUpdate:
    root: bytes
    inserted: int  # leaves new to the tree
    nodes_read: int
    nodes_written: int


def update_tree(
    store: NodeStore,
    ledger: str,
    version: int,
    leaves: Iterable[Leaf],
    *,
    window: int = READ_WINDOW,
) -> TreeUpdate:
    """Put ``leaves`` (new accounts, or new heads of known ones) into the tree as
    checkpoint ``version``; the new root."""
    changed = {leaf.account_id: leaf_node(ledger, leaf) for leaf in leaves}
    loaded, reads = _load_paths(store, ledger, [n.key for n in changed.values()], window=window)
    work: dict[NodePath, Node] = {}

    def get(path: NodePath) -> Node | None:
        # Below the end of a loaded descent the store holds nothing: only this update's
        # own nodes can be there.
        return work.get(path) or loaded.get(path)

    dirty: set[NodePath] = set()
    inserted = 0
    for new in changed.values():
        inserted += _place(new, get, work, dirty)
    for path in sorted(dirty, key=lambda p: -p.depth):
        old = get(path)
        left = _hash_of(work.get(NodePath.of(_key_on(path, 0), path.depth + 1)))
        right = _hash_of(work.get(NodePath.of(_key_on(path, 1), path.depth + 1)))
        if isinstance(old, Interior):
            left, right = left or old.left, right or old.right
        work[path] = Interior.of(left or EMPTY, right or EMPTY)
    store.write_nodes(ledger, version, work)
    root = get(ROOT) if changed else store.read_nodes(ledger, [ROOT]).get(ROOT)
    return TreeUpdate(root.hash if root else EMPTY, inserted, reads, len(work))


def _key_on(path: NodePath, side: int) -> bytes:
    """A 32-byte key on ``path`` whose next bit is ``side``: names the child's path."""
    key = bytearray(path.prefix.ljust(32, b"\0"))
    if side:
        key[path.depth >> 3] |= 0x80 >> (path.depth & 7)
    return bytes(key)


def _hash_of(node: Node | None) -> bytes | None:
    return None if node is None else node.hash


def _place(new: LeafNode, get: _Getter, work: dict[NodePath, Node], dirty: set[NodePath]) -> int:
    """Put one leaf in ``work``, marking the interior nodes above it; 1 if it is new."""
    above: list[NodePath] = []
    depth = 0
    while True:
        path = NodePath.of(new.key, depth)
        node = get(path)
        if isinstance(node, Interior):
            above.append(path)
            depth += 1
            continue
        if node is not None and node.key == new.key and node.leaf == new.leaf:
            return 0  # this head is in the tree already
        dirty.update(above)
        if node is None or node.key == new.key:
            work[path] = new
            return int(node is None)
        # Another account's leaf sits here: both go down to where their keys part, and
        # the nodes between become interior (placeholders until they are hashed, so a
        # later leaf of this update descends through them).
        split = _first_difference(node.key, new.key)
        for between in range(depth, split + 1):
            dirty.add(NodePath.of(new.key, between))
            work[NodePath.of(new.key, between)] = _PLACEHOLDER
        work[NodePath.of(node.key, split + 1)] = node
        work[NodePath.of(new.key, split + 1)] = new
        return 1


_PLACEHOLDER = Interior(EMPTY, EMPTY, EMPTY)


class _Getter(Protocol):
    def __call__(self, path: NodePath, /) -> Node | None: ...


def _first_difference(a: bytes, b: bytes) -> int:
    value = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return KEY_BITS - value.bit_length()


def _load_paths(
    store: NodeReader,
    ledger: str,
    keys: Iterable[bytes],
    *,
    version: int | None = None,
    window: int = READ_WINDOW,
) -> tuple[dict[NodePath, Node], int]:
    """Every stored node on the paths of ``keys`` down to where each path ends (a leaf,
    or nothing), READ_WINDOW levels per round trip."""
    loaded: dict[NodePath, Node] = {}
    reads = 0
    open_keys = dict.fromkeys(keys, 0)  # key -> first depth not yet read
    while open_keys:
        wanted = {
            NodePath.of(key, depth)
            for key, start in open_keys.items()
            for depth in range(start, min(start + window, KEY_BITS + 1))
        }
        loaded |= store.read_nodes(ledger, wanted, version=version)
        reads += len(wanted)
        still_open = {}
        for key, start in open_keys.items():
            end = _descent_end(key, start + window, loaded)
            if end is None:
                still_open[key] = start + window
        open_keys = still_open
    return loaded, reads


def _descent_end(key: bytes, loaded_to: int, loaded: Mapping[NodePath, Node]) -> int | None:
    """The depth where the path of ``key`` ends within what is loaded; None: deeper."""
    for depth in range(0, min(loaded_to, KEY_BITS + 1)):
        if not isinstance(loaded.get(NodePath.of(key, depth)), Interior):
            return depth
    return None


# --- from scratch, and proofs --------------------------------------------------------


def root_of(ledger: str, leaves: Iterable[Leaf]) -> bytes:
    """The root of a tree holding exactly ``leaves``, computed without a store."""
    root = build_tree(ledger, leaves).get(ROOT)
    return root.hash if root else EMPTY


def build_tree(ledger: str, leaves: Iterable[Leaf]) -> dict[NodePath, Node]:
    """Every node of the tree holding exactly ``leaves``: what the store holds after any
    sequence of updates that ends with these leaves."""
    latest = {leaf.account_id: leaf for leaf in leaves}  # one leaf per account: the last
    nodes = sorted((leaf_node(ledger, leaf) for leaf in latest.values()), key=lambda n: n.key)
    numbers = [int.from_bytes(node.key, "big") for node in nodes]
    out: dict[NodePath, Node] = {}

    def build(lo: int, hi: int, depth: int, prefix: int) -> bytes:
        # nodes[lo:hi] are the leaves under the path `prefix` (its first `depth` bits).
        path = NodePath.of(nodes[lo].key, depth)
        if hi - lo == 1:
            out[path] = nodes[lo]
            return nodes[lo].hash
        right_prefix = prefix | (1 << (KEY_BITS - 1 - depth))
        mid = bisect.bisect_left(numbers, right_prefix, lo, hi)
        left = build(lo, mid, depth + 1, prefix) if mid > lo else EMPTY
        right = build(mid, hi, depth + 1, right_prefix) if hi > mid else EMPTY
        node = Interior.of(left, right)
        out[path] = node
        return node.hash

    if nodes:
        build(0, len(nodes), 0, 0)
    return out


@dataclass(frozen=True)
class TreePath:
    """A leaf and the hashes beside its path, from the root's children down."""

    leaf: Leaf
    siblings: tuple[bytes, ...]


def prove(
    reader: NodeReader, ledger: str, account_id: str, *, version: int | None = None
) -> TreePath | None:
    """The path of ``account_id``'s leaf as of checkpoint ``version``; None if the tree
    has no leaf for it."""
    key = account_key(ledger, account_id)
    loaded, _ = _load_paths(reader, ledger, [key], version=version)
    siblings: list[bytes] = []
    for depth in range(KEY_BITS + 1):
        node = loaded.get(NodePath.of(key, depth))
        if isinstance(node, Interior):
            siblings.append(node.side(1 - bit(key, depth)))
            continue
        if isinstance(node, LeafNode) and node.key == key:
            return TreePath(node.leaf, tuple(siblings))
        return None
    return None


def root_from_path(key: bytes, leaf: bytes, siblings: tuple[bytes, ...] | list[bytes]) -> bytes:
    """Fold a leaf's hash up its path: the root the path claims."""
    current = leaf
    for depth in range(len(siblings) - 1, -1, -1):
        sibling = siblings[depth]
        current = node_hash(sibling, current) if bit(key, depth) else node_hash(current, sibling)
    return current
