"""The scope check on the smallest apps the auth tests build: ``authorized`` (which the
service's ReadAccess / WriteAccess run first) as a dependency of its own."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.auth import READ, WRITE, Principal, authorized


def _reader(request: Request) -> Principal:
    return authorized(request, READ)


def _writer(request: Request) -> Principal:
    return authorized(request, WRITE)


ReaderDep = Annotated[Principal, Depends(_reader)]
WriterDep = Annotated[Principal, Depends(_writer)]
