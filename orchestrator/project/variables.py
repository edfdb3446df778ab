"""``${VAR}`` / ``${VAR:-default}`` interpolation from the environment and the project's .env.

Every string value of a YAML file is interpolated (mapping keys are not). ``$${`` writes
a literal ``${``. An unquoted value that was only a reference is re-typed as YAML would
type the result, so ``temperature: ${TEMP:-0.2}`` is a number. The real environment wins
over .env, and .env never changes the process environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from orchestrator.project.diagnostics import Diagnostics
from orchestrator.project.documents import Document, PathKey, _Loader, iter_strings

_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_INNER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$", re.DOTALL)


def project_environment(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables ``${VAR}`` can use: ``root/.env`` overlaid by the real environment."""
    env: dict[str, str] = {}
    dotenv = root / ".env"
    if dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    return env


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with references replaced, and the problems found (undefined, malformed)."""
    problems: list[str] = []

    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$${":
            return "${"
        if m.group(1) is None:
            problems.append("'${' is not closed: write ${NAME}, or $${ for a literal '${'")
            return token
        inner = _INNER.match(m.group(1))
        if not inner:
            problems.append(
                f"'{token}' is not a variable reference: expected ${{NAME}} or ${{NAME:-default}}"
            )
            return token
        name, op, default = inner.groups()
        value = env.get(name)
        if op == ":-" and not value:
            return default
        if op == "-" and value is None:
            return default
        if value is None:
            problems.append(
                f"undefined variable ${{{name}}}: set {name} in the environment or in .env, "
                f"or give a default: ${{{name}:-value}}"
            )
            return token
        return value

    return _REF.sub(repl, text), problems


def _retype(value: str) -> Any:
    """Type a substituted plain scalar the way YAML types plain scalars."""
    if not value.strip():
        return value  # `${UNSET:-}` is an empty string, not null
    loader = _Loader("")
    try:
        tag = loader.resolve(yaml.ScalarNode, value, (True, False))
        if tag == "tag:yaml.org,2002:str":
            return value
        return loader.construct_object(yaml.ScalarNode(tag, value))
    except yaml.YAMLError:
        return value
    finally:
        loader.dispose()


def _set(data: Any, path: PathKey, value: Any) -> Any:
    if not path:
        return value
    parent = data
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return data


def interpolate(doc: Document, env: Mapping[str, str], diags: Diagnostics) -> None:
    """Replace ``${...}`` in every string value of ``doc`` in place."""
    for path, text in list(iter_strings(doc.data)):
        if "${" not in text:
            continue
        new, problems = substitute(text, env)
        for problem in problems:
            diags.error(doc.loc(path), problem)
        if new == text:
            continue
        whole = _REF.fullmatch(text) is not None
        doc.data = _set(doc.data, path, _retype(new) if whole and path in doc.plain else new)
