"""Query-string filters beyond the declared parameters: ``label.KEY=VALUE`` pairs
(ANDed), and nothing unknown (a typo must not silently widen a query)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from api.errors import ValidationFailed
from api.ids import LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN, MAX_LABELS

LABEL_PREFIX = "label."
LABEL_FILTER_DESCRIPTION = (
    "Also: label.KEY=VALUE, any number up to 16, all must match (e.g. "
    "label.customer=c-1042). Unknown parameters are a 422."
)


def label_filters(params: Iterable[tuple[str, str]], known: frozenset[str]) -> dict[str, str]:
    """The ``label.`` pairs of a query string; refuses unknown parameters and bad pairs."""
    labels: dict[str, str] = {}
    for name, value in params:
        if name in known:
            continue
        if not name.startswith(LABEL_PREFIX):
            raise ValidationFailed(
                f"Unknown filter {name[:64]!r}; the filters are {', '.join(sorted(known))} "
                "and label.KEY=VALUE."
            )
        key = name.removeprefix(LABEL_PREFIX)
        if not re.fullmatch(LABEL_KEY_PATTERN, key) or not re.fullmatch(LABEL_VALUE_PATTERN, value):
            raise ValidationFailed(f"Not a valid label filter: {name[:80]!r}={value[:130]!r}.")
        if labels.get(key, value) != value:
            raise ValidationFailed(f"label.{key} is given twice with different values.")
        labels[key] = value
    if len(labels) > MAX_LABELS:
        raise ValidationFailed(f"At most {MAX_LABELS} label filters; {len(labels)} were given.")
    return labels
