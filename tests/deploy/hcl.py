"""infra/*.tf read as text, without a Terraform binary or provider.

Resource blocks are cut out of the HCL by brace matching (after comments are removed)
and their attributes matched with regexes: enough for the properties the tests assert,
not a parser.
"""

from __future__ import annotations

import re

from tests.support import ROOT

INFRA = ROOT / "infra"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
IAM_MEMBER_TYPES = r"google_[a-z0-9_]+_iam_member"


def strip_comments(text: str) -> str:
    """Drop `#` and `//` comments (outside strings) so that prose cannot match."""
    out: list[str] = []
    for line in text.splitlines():
        in_string = False
        cut = len(line)
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\" and in_string:
                i += 2
                continue
            if ch == '"':
                in_string = not in_string
            elif not in_string and (ch == "#" or line.startswith("//", i)):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


def source() -> str:
    return "\n".join(strip_comments(p.read_text()) for p in sorted(INFRA.glob("*.tf")))


def blocks(kind: str, type_name: str | None = None) -> dict[str, str]:
    """`resource "TYPE" "NAME" { ... }` bodies keyed by "TYPE.NAME" (or "NAME" for variables)."""
    text = source()
    if kind == "variable":
        header = re.compile(r'^variable "([^"]+)" \{', re.MULTILINE)
    else:
        type_pattern = type_name or '[^"]+'
        header = re.compile(rf'^{kind} "({type_pattern})" "([^"]+)" \{{', re.MULTILINE)
    found: dict[str, str] = {}
    for match in header.finditer(text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        key = ".".join(match.groups())
        found[key] = text[match.end() : i - 1]
    return found


def attribute(body: str, name: str) -> str | None:
    match = re.search(rf"^\s*{name}\s*=\s*(.+)$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def nested(body: str, name: str) -> str | None:
    """The body of the first nested block `name { ... }` in ``body``."""
    match = re.search(rf"^\s*{name} \{{", body, re.MULTILINE)
    if match is None:
        return None
    depth, i = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(body[i], 0)
        i += 1
    return body[match.end() : i - 1]


def string_list(body: str, name: str) -> list[str]:
    """The quoted strings of a list attribute `name = [ "a", "b", ... ]`."""
    match = re.search(rf"^\s*{name}\s*=\s*\[(.*?)\]", body, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no list attribute {name}"
    return re.findall(r'"([^"]*)"', match.group(1))


def local_map(name: str) -> dict[str, str]:
    """`name = { KEY = value ... }` inside a locals block: keys to their raw values."""
    match = re.search(rf"^  {name} = \{{(.*?)\n  \}}", source(), re.MULTILINE | re.DOTALL)
    assert match is not None, f"no local map {name}"
    return dict(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$", match.group(1), re.M))
