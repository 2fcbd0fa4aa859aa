"""Idempotency fingerprints: stable across key order, defaults and new optional fields."""

from __future__ import annotations

from pydantic import Field

from api.accounts.schemas import AccountCreate
from api.ids import FINGERPRINT_VERSION, request_fingerprint
from api.transfers.schemas import TransferCreate

BODY = {"id": "t1", "debit_account_id": "a", "credit_account_id": "b", "amount": 10}


def fingerprint(body: dict[str, object], model: type[TransferCreate] = TransferCreate) -> str:
    return request_fingerprint(model.model_validate(body), exclude={"id"})


def test_key_order_in_metadata_does_not_matter() -> None:
    one = fingerprint({**BODY, "metadata": {"x": 1, "y": [1, {"a": 1, "b": 2}]}})
    two = fingerprint({**BODY, "metadata": {"y": [1, {"b": 2, "a": 1}], "x": 1}})
    assert one == two


def test_an_explicit_default_is_the_same_request_as_leaving_it_out() -> None:
    assert fingerprint({**BODY, "currency": None, "metadata": None}) == fingerprint(BODY)


def test_a_new_optional_field_leaves_earlier_fingerprints_unchanged() -> None:
    class LaterTransferCreate(TransferCreate):
        """What a later release may accept: one more optional field, off by default."""

        pending: bool = Field(default=False)

    assert fingerprint(BODY, LaterTransferCreate) == fingerprint(BODY)
    assert fingerprint({**BODY, "pending": True}, LaterTransferCreate) != fingerprint(BODY)


def test_a_different_request_has_a_different_fingerprint() -> None:
    assert fingerprint({**BODY, "amount": 11}) != fingerprint(BODY)


def test_the_fingerprint_names_its_version_and_fits_its_column() -> None:
    value = fingerprint(BODY)
    assert value.startswith(f"{FINGERPRINT_VERSION}:")
    assert len(value) <= 64  # RequestHash STRING(64)


def test_an_account_with_default_flags_hashes_like_one_without() -> None:
    plain = AccountCreate.model_validate({"currency": "USD"})
    explicit = AccountCreate.model_validate(
        {"currency": "USD", "flags": {"debits_must_not_exceed_credits": False}}
    )
    assert request_fingerprint(plain, exclude={"id"}) == request_fingerprint(
        explicit, exclude={"id"}
    )
