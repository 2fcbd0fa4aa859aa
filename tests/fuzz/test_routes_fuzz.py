"""Hostile input on every route: always a declared 4xx problem, never a 5xx.

The routes come from the app itself (a new route is fuzzed without touching this
file); every answer must be a status its OpenAPI operation declares, and every error
an ``application/problem+json`` with a ``code``. The run is reproducible: hypothesis
is derandomized and the database is private to this module, seeded with fixed rows.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.config import Settings
from api.ids import ID_PATTERN

PROBLEM = "application/problem+json"

# A falsifying example 400 levels deep has a long repr; hypothesis warns, pytest would fail.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Derandomized and without an example database: the same examples on every machine.
# No deadline: one example is one or more emulator round trips, whose latency varies.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=20,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)

# ----------------------------------------------------------------------------------------
# The routes, as the app has them


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, as in the OpenAPI document
    regex: re.Pattern[str]
    params: tuple[str, ...]  # path parameters
    query: tuple[str, ...]  # declared query parameters
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations_of(app: FastAPI) -> list[Operation]:
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, routing.APIRoute):
            continue  # the docs pages and /openapi.json
        for method in sorted(route.methods):
            found.append(
                Operation(
                    method=method,
                    path=route.path_format,
                    regex=route.path_regex,
                    params=tuple(route.param_convertors),
                    query=tuple(p.alias for p in route.dependant.query_params),
                    has_body=route.body_field is not None,
                )
            )
    return found


# Only to enumerate routes at collection time: nothing here connects anywhere.
OPERATIONS = operations_of(
    create_app(Settings(_env_file=None, auth_mode="none"), configure_logs=False)  # type: ignore[call-arg]
)
WITH_BODY = [op for op in OPERATIONS if op.has_body]
WITH_QUERY = [op for op in OPERATIONS if op.query]
WITH_PARAMS = [op for op in OPERATIONS if op.params]
PAGINATED = [op for op in OPERATIONS if "page_token" in op.query]


def by_name(ops: list[Operation]) -> dict[str, Any]:
    return {"argvalues": ops, "ids": [str(op) for op in ops]}


# ----------------------------------------------------------------------------------------
# The fixed database this module runs against

ACCOUNTS = {"fuzz-a": "USD", "fuzz-b": "USD", "fuzz-eur": "EUR"}
TRANSFER = "fuzz-t"
TRANSACTION = "fuzz-tx"
EXISTING_IDS = (*ACCOUNTS, TRANSFER, TRANSACTION, f"{TRANSACTION}~0")


@pytest.fixture(scope="module")
def fuzz_client(
    ledger_settings: Settings, ledger_database_factory: Callable[[], str]
) -> Iterator[TestClient]:
    """The real app (auth off) over a database of its own, seeded with fixed rows."""
    app_settings = ledger_settings.model_copy(
        update={"spanner_database": ledger_database_factory()}
    )
    app = create_app(app_settings, configure_logs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        for account_id, currency in ACCOUNTS.items():
            response = client.post("/v1/accounts", json={"id": account_id, "currency": currency})
            assert response.status_code == 201, response.text
        response = client.post(
            "/v1/transfers",
            json={
                "id": TRANSFER,
                "debit_account_id": "fuzz-a",
                "credit_account_id": "fuzz-b",
                "amount": 1,
            },
        )
        assert response.status_code == 201, response.text
        legs = [{"debit_account_id": "fuzz-a", "credit_account_id": "fuzz-b", "amount": 1}]
        response = client.post("/v1/transactions", json={"id": TRANSACTION, "legs": legs})
        assert response.status_code == 201, response.text
        yield client


# ----------------------------------------------------------------------------------------
# Hostile values

# Lone surrogates survive JSON: json.dumps writes "\ud800", the server reads it back.
characters = st.one_of(st.characters(), st.characters(categories=["Cs"]))
texts = st.text(alphabet=characters, max_size=16)
big_ints = st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**400])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    big_ints,
    # json.dumps writes NaN and Infinity (not JSON), and Python's json.loads reads them.
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def nest(depth: int, *, as_list: bool, leaf: Any) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


deep_values = st.builds(
    nest, st.integers(1, 400), as_list=st.booleans(), leaf=scalars
)  # fmt: skip
metadata_values = st.one_of(
    st.dictionaries(texts, json_values, max_size=6),
    st.builds(lambda inner: {"k": inner}, deep_values),
    json_values,  # not even an object
)
valid_ids = st.from_regex(ID_PATTERN, fullmatch=True)
any_ids = st.one_of(st.sampled_from(EXISTING_IDS), valid_ids, texts, st.text(max_size=80))


def dumps(value: Any) -> bytes:
    """JSON as a client would send it: \\u-escaped, so lone surrogates get through."""
    return json.dumps(value).encode()


def segment(value: str) -> str:
    """One path segment; a lone surrogate becomes the bytes Python would write for it."""
    return quote(value, safe="", errors="surrogatepass")


# ----------------------------------------------------------------------------------------
# Valid shapes, to get past validation and into the services

TRANSFER_SHAPE = {"debit_account_id": "fuzz-a", "credit_account_id": "fuzz-b", "amount": 1}


def account_body(new_id: str, metadata: Any) -> dict[str, Any]:
    return {"id": new_id, "currency": "USD", "metadata": metadata}


def transfer_body(new_id: str, metadata: Any) -> dict[str, Any]:
    return {"id": new_id, **TRANSFER_SHAPE, "metadata": metadata}


def transaction_body(new_id: str, metadata: Any) -> dict[str, Any]:
    legs = [{**TRANSFER_SHAPE, "metadata": metadata}, TRANSFER_SHAPE]
    return {"id": new_id, "legs": legs, "metadata": metadata}


def batch_body(new_id: str, metadata: Any) -> dict[str, Any]:
    transfers = [
        transfer_body(new_id, metadata),
        transfer_body(new_id + "-2", {"ok": 1}),
        {"op": "transaction", **transaction_body(new_id + "-3", metadata)},
    ]
    return {"transfers": transfers, "atomic": False}


# A route with a body needs its valid shape here (test_every_route_is_fuzzed).
SHAPES: dict[str, Callable[[str, Any], dict[str, Any]]] = {
    "POST /v1/accounts": account_body,
    "POST /v1/transfers": transfer_body,
    "POST /v1/transfers:batch": batch_body,
    "POST /v1/transfers/{transfer_id}:post": lambda new_id, metadata: {"amount": 1},
    "POST /v1/transfers/{transfer_id}:void": lambda new_id, metadata: {},
    "POST /v1/transfers/{transfer_id}:reverse": lambda new_id, metadata: {
        "id": new_id,
        "metadata": metadata,
    },
    "POST /v1/transactions": transaction_body,
    "POST /v1/transactions/{transaction_id}:post": lambda new_id, metadata: {},
    "POST /v1/transactions/{transaction_id}:void": lambda new_id, metadata: {},
    "POST /v1/transactions/{transaction_id}:reverse": lambda new_id, metadata: {
        "id": new_id,
        "metadata": metadata,
    },
}


def shaped(op: Operation, name: str, metadata: Any) -> dict[str, Any]:
    """A valid body for ``op`` with a reproducible id made of ``name``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{op.path}-{name}").strip("-")
    return SHAPES[str(op)](slug, metadata)


@st.composite
def shaped_bodies(draw: st.DrawFn, op: Operation, metadata: st.SearchStrategy[Any]) -> bytes:
    body = SHAPES[str(op)](draw(valid_ids), draw(metadata))
    if "atomic" in body:
        body["atomic"] = draw(st.booleans())
    return dumps(body)


# ----------------------------------------------------------------------------------------
# Requests and the contract every answer must keep


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent: percent-encoded
    query: str = ""
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()


# Path parameters default to a row that exists.
EXISTING_BY_PARAM = {"transfer_id": TRANSFER, "transaction_id": TRANSACTION}


def fill(op: Operation, values: dict[str, str] | None = None) -> str:
    """The path of ``op`` with its parameters substituted (percent-encoded)."""
    path = op.path
    for name in op.params:
        value = (values or {}).get(name, EXISTING_BY_PARAM.get(name, "fuzz-a"))
        path = path.replace("{" + name + "}", segment(value))
    return path


def send(client: TestClient, request: Request) -> Any:
    # Bytes: header values may be any latin-1 text, which httpx would not encode itself.
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers]
    if request.body is not None and not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", b"application/json"))
    url = request.path + (f"?{request.query}" if request.query else "")
    return client.request(
        request.method, url, content=request.body, headers=headers, follow_redirects=False
    )


def routed_to(method: str, path: str) -> tuple[Operation | None, bool]:
    """The operation the router picks for a path as sent, and whether any path matched."""
    decoded = unquote(path, errors="replace")
    matched = [op for op in OPERATIONS if op.regex.match(decoded)]
    for op in matched:
        if op.method == method:
            return op, True
    return None, bool(matched)


def assert_contract(spec: dict[str, Any], request: Request, response: Any) -> None:
    """Below 500; a problem with a code if an error; a status its operation declares."""
    status = response.status_code
    where = f"{request.method} {request.path}?{request.query} -> {status}: {response.text[:300]}"
    assert status < 500, where
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM, where
        problem = response.json()
        assert isinstance(problem.get("code"), str) and problem["code"], where
        assert problem["status"] == status, where
    op, path_matched = routed_to(request.method, request.path)
    if op is None:
        # No operation: the router's own answer, or its redirect to the path without "/".
        if status == 307:
            decoded = unquote(request.path, errors="replace")
            target = unquote(response.headers["location"].split("?")[0], errors="replace")
            assert decoded.endswith("/") and target.endswith(decoded.rstrip("/")), where
        else:
            assert status == (405 if path_matched else 404), where
        return
    declared = spec["paths"][op.path][op.method.lower()]["responses"]
    assert str(status) in declared or f"{status // 100}XX" in declared, (
        f"{op} answered {status}, which its OpenAPI operation does not declare "
        f"(declared: {sorted(declared)}); {where}"
    )


def check(client: TestClient, request: Request) -> None:
    # The document /openapi.json serves (built once, then cached on the app).
    spec = client.app.openapi()  # type: ignore[attr-defined]
    assert_contract(spec, request, send(client, request))


# ----------------------------------------------------------------------------------------
# The coverage guard


def test_every_route_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 10  # enumeration still finds the routers
    assert {str(op) for op in WITH_BODY} == SHAPES.keys()


# ----------------------------------------------------------------------------------------
# Bodies


@pytest.mark.parametrize("op", **by_name(OPERATIONS))
@FUZZ
@given(value=st.one_of(json_values, deep_values))
def test_arbitrary_json_body_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, value: Any
) -> None:
    check(fuzz_client, Request(op.method, fill(op), body=dumps(value)))


@pytest.mark.parametrize("op", **by_name(WITH_BODY))
@FUZZ
@given(new_id=valid_ids, metadata=metadata_values)
def test_valid_shape_with_arbitrary_metadata_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, new_id: str, metadata: Any
) -> None:
    body = dumps(SHAPES[str(op)](new_id, metadata))
    check(fuzz_client, Request(op.method, fill(op), body=body))


@pytest.mark.parametrize("op", **by_name(WITH_BODY))
@FUZZ
@given(data=st.data(), field=st.sampled_from(["id", "currency", "amount", "transfers", "x"]))
def test_valid_shape_with_one_wrong_field_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, data: st.DataObject, field: str
) -> None:
    body = json.loads(data.draw(shaped_bodies(op, st.just({}))))
    body[field] = data.draw(json_values)
    check(fuzz_client, Request(op.method, fill(op), body=dumps(body)))


@pytest.mark.parametrize("depth", [1, 63, 64, 65, 100, 254, 255, 256, 257, 300, 400])
@pytest.mark.parametrize("op", **by_name(WITH_BODY))
def test_deeply_nested_metadata_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, depth: int
) -> None:
    body = shaped(op, f"deep-{depth}", {"k": nest(depth - 1, as_list=False, leaf=1)})
    check(fuzz_client, Request(op.method, fill(op), body=dumps(body)))


LONE_SURROGATES = {
    "value": {"note": "\ud800"},
    "key": {"\udfff": 1},
    "nested": {"a": [{"b": "x\udbff"}]},
}


@pytest.mark.parametrize("where", LONE_SURROGATES)
@pytest.mark.parametrize("op", **by_name(WITH_BODY))
def test_lone_surrogate_in_metadata_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, where: str
) -> None:
    body = shaped(op, f"lone-{where}", LONE_SURROGATES[where])
    check(fuzz_client, Request(op.method, fill(op), body=dumps(body)))


# Python's json reads NaN and Infinity (not JSON) and ints of any size; Spanner's JSON
# type stores neither a non-finite number nor one beyond a double's range.
UNREPRESENTABLE_NUMBERS = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "minus-infinity": float("-inf"),
    "10^400": 10**400,
}


@pytest.mark.parametrize("number", UNREPRESENTABLE_NUMBERS)
@pytest.mark.parametrize("op", **by_name(WITH_BODY))
def test_unrepresentable_number_in_metadata_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, number: str
) -> None:
    body = shaped(op, f"number-{number}", {"n": UNREPRESENTABLE_NUMBERS[number]})
    check(fuzz_client, Request(op.method, fill(op), body=dumps(body)))


@pytest.mark.parametrize("op", **by_name(WITH_BODY))
def test_lone_surrogate_in_an_unknown_field_name_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation
) -> None:
    body = shaped(op, "lone-field", {}) | {"\ud800": 1}
    check(fuzz_client, Request(op.method, fill(op), body=dumps(body)))


RAW_BODIES = {
    "invalid-utf8": b'{"currency": "\xff\xfe"}',
    "lone-continuation-byte": b"\x80",
    "utf8-bom": b'\xef\xbb\xbf{"currency": "USD"}',
    "utf16": '{"currency": "USD"}'.encode("utf-16"),
    "truncated": b'{"currency": "US',
    "empty": b"",
    "not-json": b"currency=USD",
    "nul": b'{"currency": "USD\x00"}',
    "surrogate-bytes": '{"currency": "\ud800"}'.encode(errors="surrogatepass"),
}


@pytest.mark.parametrize("raw", RAW_BODIES.values(), ids=RAW_BODIES.keys())
@pytest.mark.parametrize("op", **by_name(WITH_BODY))
def test_undecodable_body_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, raw: bytes
) -> None:
    check(fuzz_client, Request(op.method, fill(op), body=raw))


content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "application/problem+json",
            "application/vnd.x+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)


@pytest.mark.parametrize("op", **by_name(WITH_BODY))
@FUZZ
@given(raw=st.binary(max_size=64), content_type=content_types)
def test_arbitrary_bytes_are_a_declared_answer(
    fuzz_client: TestClient, op: Operation, raw: bytes, content_type: str
) -> None:
    request = Request(op.method, fill(op), body=raw, headers=(("content-type", content_type),))
    check(fuzz_client, request)


# ----------------------------------------------------------------------------------------
# Paths, query strings and headers


@pytest.mark.parametrize("op", **by_name(WITH_PARAMS))
@FUZZ
@given(data=st.data())
def test_any_path_parameter_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, data: st.DataObject
) -> None:
    values = {name: data.draw(any_ids, label=name) for name in op.params}
    body = data.draw(shaped_bodies(op, st.just({}))) if op.has_body else None
    check(fuzz_client, Request(op.method, fill(op, values), body=body))


def forged_token(value: Any) -> str:
    return base64.urlsafe_b64encode(dumps(value)).decode().rstrip("=")


page_tokens = st.one_of(
    st.builds(forged_token, json_values),
    st.builds(forged_token, st.lists(st.one_of(big_ints, st.integers(), texts), max_size=3)),
    st.builds(lambda b: base64.urlsafe_b64encode(b).decode(), st.binary(max_size=40)),
    texts,
)
query_values = st.one_of(texts, st.integers().map(str), big_ints.map(str), page_tokens)


@st.composite
def query_strings(draw: st.DrawFn, op: Operation) -> str:
    keys = st.one_of(st.sampled_from([*op.query, "label.k", "x"]), texts)
    pairs = draw(st.lists(st.tuples(keys, query_values), max_size=4))
    parts = [f"{segment(k)}={segment(v)}" for k, v in pairs]
    junk = draw(st.lists(st.sampled_from(["%", "%zz", "%ff%fe", "&", "==", ";", "+"]), max_size=2))
    return "&".join(parts + junk)


@pytest.mark.parametrize("op", **by_name(WITH_QUERY))
@FUZZ
@given(data=st.data())
def test_arbitrary_query_string_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, data: st.DataObject
) -> None:
    query = data.draw(query_strings(op))
    check(fuzz_client, Request(op.method, fill(op), query=query))


@pytest.mark.parametrize("op", **by_name(PAGINATED))
@FUZZ
@given(token=page_tokens)
def test_forged_page_token_is_a_declared_answer(
    fuzz_client: TestClient, op: Operation, token: str
) -> None:
    check(fuzz_client, Request(op.method, fill(op), query=f"page_token={segment(token)}"))


@pytest.mark.parametrize(
    "token",
    [[2**63, "fuzz-a"], [-(2**63) - 1, "fuzz-a"], [0, "\ud800"], [2**64], [-(2**64)]],
    ids=["hash-over-int64", "hash-under-int64", "lone-surrogate-id", "seq-2^64", "seq--2^64"],
)
@pytest.mark.parametrize("op", **by_name(PAGINATED))
def test_forged_page_token_out_of_range_is_422(
    fuzz_client: TestClient, op: Operation, token: list[Any]
) -> None:
    response = fuzz_client.get(fill(op), params={"page_token": forged_token(token)})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_page_token"


header_names = st.one_of(
    st.sampled_from(
        [
            "authorization",
            "content-type",
            "content-length",
            "accept",
            "accept-encoding",
            "traceparent",
            "x-cloud-trace-context",
            "origin",
            "x-forwarded-for",
            "user-agent",
        ]
    ),
    st.from_regex(r"\Ax-[a-z0-9-]{1,20}\Z"),
)
# What HTTP/1.1 lets through in a header value: no CR, LF or NUL.
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)


@pytest.mark.parametrize("op", **by_name(OPERATIONS))
@FUZZ
@given(data=st.data(), headers=st.lists(st.tuples(header_names, header_values), max_size=4))
def test_arbitrary_headers_are_a_declared_answer(
    fuzz_client: TestClient,
    op: Operation,
    data: st.DataObject,
    headers: list[tuple[str, str]],
) -> None:
    body = data.draw(shaped_bodies(op, st.just({}))) if op.has_body else None
    check(fuzz_client, Request(op.method, fill(op), body=body, headers=tuple(headers)))
