"""The checkpoint tree: built a batch at a time it is the tree built from scratch, node
for node; its proofs lead to its root, at every version; an update touches only the
paths of what changed."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from api.evidence.tree import (
    EMPTY,
    KEY_BITS,
    Leaf,
    MemoryNodeStore,
    account_key,
    build_tree,
    leaf_hash,
    prove,
    root_from_path,
    root_of,
    update_tree,
)

LEDGER = "default"
leaves = st.builds(
    Leaf,
    account_id=st.sampled_from([f"acct-{n}" for n in range(40)]),
    length=st.integers(0, 5),
    head=st.binary(min_size=32, max_size=32),
)
batches = st.lists(st.lists(leaves, min_size=1, max_size=15), min_size=1, max_size=6)


def apply(batches_of_leaves):
    store, truth, roots = MemoryNodeStore(), {}, []
    for version, batch in enumerate(batches_of_leaves, start=1):
        update = update_tree(store, LEDGER, version, batch)
        truth |= {leaf.account_id: leaf for leaf in batch}
        roots.append((update.root, dict(truth)))
    return store, roots


@settings(deadline=None)  # a shared machine: timings vary tenfold
@given(batches)
def test_updates_build_the_tree_built_from_scratch_node_for_node(batches_of_leaves):
    store, roots = apply(batches_of_leaves)
    for version, (root, truth) in enumerate(roots, start=1):
        expected = build_tree(LEDGER, truth.values())
        assert root == root_of(LEDGER, truth.values())
        stored = store.read_nodes(LEDGER, store.paths(LEDGER), version=version)
        assert stored == expected


@settings(deadline=None)
@given(batches)
def test_every_leaf_is_proved_against_the_root_of_its_version(batches_of_leaves):
    store, roots = apply(batches_of_leaves)
    for version, (root, truth) in enumerate(roots, start=1):
        for leaf in truth.values():
            path = prove(store, LEDGER, leaf.account_id, version=version)
            assert path is not None
            assert path.leaf == leaf
            key = account_key(LEDGER, leaf.account_id)
            assert (
                root_from_path(key, leaf_hash(key, leaf.length, leaf.head), path.siblings) == root
            )


@settings(deadline=None)
@given(batches)
def test_the_leaves_of_a_version_are_its_accounts(batches_of_leaves):
    store, roots = apply(batches_of_leaves)
    for version, (_, truth) in enumerate(roots, start=1):
        assert store.read_leaves(LEDGER, version=version) == truth


def test_an_account_not_in_the_tree_has_no_proof():
    store, _ = apply([[Leaf(account_id="a", length=1, head=EMPTY)]])
    assert prove(store, LEDGER, "b") is None


def test_an_empty_tree_has_the_empty_root():
    assert root_of(LEDGER, []) == EMPTY
    assert update_tree(MemoryNodeStore(), LEDGER, 1, []).root == EMPTY


def test_a_head_already_in_the_tree_writes_nothing():
    leaf = Leaf(account_id="a", length=1, head=EMPTY)
    store, _ = apply([[leaf, Leaf(account_id="b", length=1, head=EMPTY)]])
    update = update_tree(store, LEDGER, 2, [leaf])
    assert (update.nodes_written, update.inserted) == (0, 0)


def test_a_tree_of_one_leaf_is_that_leaf():
    leaf = Leaf(account_id="a", length=3, head=EMPTY)
    key = account_key(LEDGER, "a")
    assert root_of(LEDGER, [leaf]) == leaf_hash(key, 3, EMPTY)


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32))
def test_an_update_writes_only_the_paths_of_what_changed(seed):
    count, changed = 5_000, 20
    heads = [hashlib.sha256(f"{seed}-{n}".encode()).digest() for n in range(count)]
    store = MemoryNodeStore()
    first = update_tree(
        store, LEDGER, 1, [Leaf(account_id=f"a{n}", length=1, head=h) for n, h in enumerate(heads)]
    )
    depth = max(p.depth for p in store.paths(LEDGER))
    update = update_tree(
        store, LEDGER, 2, [Leaf(account_id=f"a{n}", length=2, head=EMPTY) for n in range(changed)]
    )
    assert first.inserted == count and update.inserted == 0
    assert update.nodes_written <= changed * (depth + 1)
    assert depth < KEY_BITS
