"""The `gcloud` commands the docs and the build files tell people (and Cloud Build) to run,
and the flags Google's reference gives each of them.

The reference is gcloud's own help (the text of cloud.google.com/sdk/gcloud/reference),
recorded in gcloud_reference.json so that the check runs where there is no gcloud (the
build's test step). To record the commands the docs use now, with a gcloud SDK on PATH:

    .venv/bin/python -m tests.deploy.gcloud_reference
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import ROOT

RECORD = Path(__file__).with_name("gcloud_reference.json")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "infra" / "README.md"]
BUILD_FILES = [ROOT / "cloudbuild.yaml", ROOT / "cloudbuild-deploy.yaml"]
RELEASE_TRACKS = ("alpha", "beta")
_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "(", ")"}


def _without_substitutions(text: str, inner: list[str]) -> str:
    """``text`` with each $(...) replaced by a word; what they held goes to ``inner``."""
    out, i = [], 0
    while i < len(text):
        start = text.find("$(", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        depth, j = 1, start + 2
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        inner.append(_without_substitutions(text[start + 2 : j - 1], inner))
        out.append("SUBSTITUTED")
        i = j
    return "".join(out)


def _newlines_as_separators(text: str) -> str:
    """Unquoted newlines end a command; quoted ones (a multi-line --sql) do not. Comments
    (an unquoted # that starts a word, to the end of its line) go."""
    out, quote, i = [], "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        elif ch == "\n":
            ch = " ; "
        out.append(ch)
        i += 1
    return "".join(out)


def commands_in(text: str) -> list[list[str]]:
    """Every `gcloud ...` command line in a shell text, as words (no operators)."""
    inner: list[str] = []
    text = re.sub(r"<<-?'?(\w+)'?\n.*?\n\s*\1\n", "\n", text, flags=re.DOTALL)  # heredocs
    texts = [_without_substitutions(text.replace("\\\n", " ").replace("$$", "$"), inner)]
    found = []
    for part in texts + inner:
        lexer = shlex.shlex(_newlines_as_separators(part), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        words = list(lexer)
        command: list[str] = []
        for word in [*words, ";"]:
            if word in _OPERATORS:
                # `docker run ... IMAGE gcloud ...`: the container's command.
                if command[:1] == ["docker"] and "gcloud" in command:
                    command = command[command.index("gcloud") :]
                if command[:1] == ["gcloud"]:
                    found.append(command)
                command = []
            else:
                command.append(word)
    return found


def shell_texts() -> list[tuple[str, str]]:
    """(where, shell text): the docs' ```sh blocks and inline `gcloud ...` spans, and
    the build files' steps."""
    texts = []
    for path in DOCS:
        doc = path.read_text()
        name = str(path.relative_to(ROOT))
        texts += [(name, block) for block in re.findall(r"```sh\n(.*?)```", doc, re.DOTALL)]
        prose = re.sub(r"```.*?```", "", doc, flags=re.DOTALL)
        texts += [(name, span) for span in re.findall(r"`(gcloud [^`]+)`", prose)]
    for path in BUILD_FILES:
        for step in yaml.safe_load(path.read_text())["steps"]:
            args = [str(a) for a in step.get("args", [])]
            script = args[3] if step.get("entrypoint") == "bash" else shlex.join(args)
            texts.append((f"{path.name} {step['id']}", script))
    return texts


def all_commands() -> list[tuple[str, list[str]]]:
    return [(where, words) for where, text in shell_texts() for words in commands_in(text)]


def command_path(words: list[str], known: set[str]) -> str | None:
    """The longest leading run of words (after `gcloud`) that names a known command."""
    names = []
    for word in words[1:]:
        if word.startswith("-"):
            break
        names.append(word)
    for n in range(len(names), 0, -1):
        if " ".join(names[:n]) in known:
            return " ".join(names[:n])
    return None


def flags(words: list[str]) -> list[str]:
    return [w.split("=", 1)[0] for w in words if w.startswith("--") and len(w) > 2]


# --- recording (needs gcloud) -------------------------------------------------------------


def _surface_path(sdk_root: Path, names: list[str]) -> str | None:
    """gcloud's own command tree (lib/surface): the command that ``names`` start with."""
    track = [names[0]] if names and names[0] in RELEASE_TRACKS else []
    directory = sdk_root / "lib" / "surface"
    for i, name in enumerate(names[len(track) :], start=len(track)):
        entry = name.replace("-", "_")
        if (directory / entry).is_dir():
            directory = directory / entry
        elif (directory / f"{entry}.py").is_file() or (directory / f"{entry}.yaml").is_file():
            return " ".join(names[: i + 1])
        else:
            return None
    return None


def _help_flags(path: str) -> list[str] | None:
    """The flags gcloud's help gives ``path``; None when it has no such command (one
    that exists in another release track only, say)."""
    done = subprocess.run(
        ["gcloud", *path.split(), "--help"],
        capture_output=True, text=True, check=False, env={**os.environ, "PAGER": "cat"},
    )  # fmt: skip
    if done.returncode:
        return None
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    found: set[str] = set()
    for negatable in re.findall(r"--\[no-\]([a-z][a-z0-9-]*)", text):
        found |= {f"--{negatable}", f"--no-{negatable}"}
    found |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    return sorted(found)


def record() -> dict[str, object]:
    sdk_root = Path(
        subprocess.run(
            ["gcloud", "info", "--format=value(installation.sdk_root)"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    version = subprocess.run(
        ["gcloud", "version", "--format=value(\"Google Cloud SDK\")"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    paths, unknown = set(), []
    for where, words in all_commands():
        names = [w for w in words[1:] if not w.startswith("-")]
        path = _surface_path(sdk_root, names)
        if path is None:
            unknown.append(f"{where}: `{' '.join(words)}`")
        else:
            paths.add(path)
    commands = {path: _help_flags(path) for path in sorted(paths)}
    unknown += [f"`gcloud {path}` (gcloud {version} has no such command)"
                for path, found in commands.items() if found is None]  # fmt: skip
    if unknown:
        sys.exit("not gcloud commands:\n" + "\n".join(unknown))
    return {"gcloud": version, "commands": commands}


if __name__ == "__main__":
    RECORD.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"recorded {RECORD.relative_to(ROOT)}")
