"""The per-account chain: any single change to what was sealed, any insertion,
deletion or reordering, gives another head."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.evidence.chain import ChainHead, ChainOrderError, chain_head, genesis
from api.evidence.encoding import AccountFact, Fact
from tests.evidence.strategies import entry_facts, fields_of, other_value, replace, value_of

LEDGER, ACCOUNT = "default", "alice"


@st.composite
def chains(draw: st.DrawFn, min_size: int = 1) -> list[Fact]:
    """Entries of one account at sequences 1..n (other fields arbitrary)."""
    drawn = draw(st.lists(entry_facts, min_size=min_size, max_size=6))
    return [
        dataclasses.replace(f, ledger=LEDGER, account_id=ACCOUNT, sequence=n)
        for n, f in enumerate(drawn, start=1)
    ]


def head(facts: list[Fact]) -> bytes:
    return chain_head(LEDGER, ACCOUNT, facts).head


@settings(deadline=None)  # a shared machine: timings vary tenfold
@given(st.data(), chains())
def test_any_single_field_changed_changes_the_head(data, facts):
    index = data.draw(st.integers(0, len(facts) - 1))
    name = data.draw(
        st.sampled_from([n for n in fields_of(facts[index]) if n not in ("ledger", "account_id")])
    )
    value = other_value(data.draw, facts[index], name)
    assume(value != value_of(facts[index], name))
    changed = list(facts)
    changed[index] = replace(facts[index], name, value)
    if name == "sequence":  # the chain refuses facts out of order, or says otherwise
        with contextlib.suppress(ChainOrderError):
            assert head(changed) != head(facts)
        return
    assert head(changed) != head(facts)


@settings(deadline=None)
@given(st.data(), chains(min_size=2))
def test_a_deleted_fact_changes_the_head(data, facts):
    index = data.draw(st.integers(0, len(facts) - 1))
    assert head(facts[:index] + facts[index + 1 :]) != head(facts)


@settings(deadline=None)
@given(st.data(), chains(), entry_facts)
def test_an_inserted_fact_changes_the_head(data, facts, extra):
    index = data.draw(st.integers(0, len(facts)))
    # Slipped in between two sequences (the rows renumbered, or not).
    inserted = dataclasses.replace(extra, ledger=LEDGER, account_id=ACCOUNT)
    renumbered = [
        dataclasses.replace(f, sequence=n)
        for n, f in enumerate([*facts[:index], inserted, *facts[index:]], start=1)
    ]
    assert head(renumbered) != head(facts)


@settings(deadline=None)
@given(st.data(), chains(min_size=2))
def test_two_facts_swapped_change_the_head(data, facts):
    i, j = data.draw(st.lists(st.integers(0, len(facts) - 1), min_size=2, max_size=2, unique=True))
    assume(dataclasses.replace(facts[i], sequence=0) != dataclasses.replace(facts[j], sequence=0))
    swapped = list(facts)
    swapped[i] = dataclasses.replace(facts[j], sequence=facts[i].sequence)
    swapped[j] = dataclasses.replace(facts[i], sequence=facts[j].sequence)
    assert head(swapped) != head(facts)


@settings(deadline=None)
@given(chains(), st.data())
def test_extending_in_steps_is_extending_at_once(facts, data):
    cut = data.draw(st.integers(0, len(facts)))
    first, seals_first = ChainHead.start(LEDGER, ACCOUNT).extend(facts[:cut])
    second, seals_second = first.extend(facts[cut:])
    whole, seals = ChainHead.start(LEDGER, ACCOUNT).extend(facts)
    assert (second, seals_first + seals_second) == (whole, seals)
    assert whole.length == len(facts)
    assert whole.position == facts[-1].position


def test_genesis_is_per_ledger_and_account():
    assert len({genesis("a", "b"), genesis("b", "a"), genesis("a", "a"), genesis("ab", "")}) == 4


@settings(deadline=None)
@given(chains(min_size=1))
def test_a_chain_refuses_facts_of_another_account(facts):
    stranger = dataclasses.replace(facts[0], account_id="mallory")
    with pytest.raises(ChainOrderError):
        ChainHead.start(LEDGER, ACCOUNT).extend([stranger])


@settings(deadline=None)
@given(chains(min_size=2))
def test_a_chain_refuses_facts_out_of_order(facts):
    with pytest.raises(ChainOrderError):
        ChainHead.start(LEDGER, ACCOUNT).extend(list(reversed(facts)))


def test_a_change_sits_after_the_entries_it_saw_and_before_the_next():
    close = AccountFact(
        ledger=LEDGER, account_id=ACCOUNT, kind="closed", number=2, version=3, at_ns=0
    )
    assert (3, 0) < close.position < (4, 0)
