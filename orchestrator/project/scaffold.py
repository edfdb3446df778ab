"""`orchestrator init`: a new project's files, from the templates shipped in the package.

:func:`scaffold` writes them all or nothing: when any file it would create already
exists, it raises :class:`ScaffoldError` naming those files and writes none (a re-run
after moving them away is clean). ``.gitignore`` is the exception: an existing one gets
the missing entries appended, never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from orchestrator import __version__

CI_PROVIDERS = ("github",)

# Where the templates' `# yaml-language-server: $schema=` lines point.
SCHEMAS_DIR = "schemas"
SCHEMA_FILES = (
    "project.schema.json",
    "assistant.schema.json",
    "scenario.schema.json",
    "cassette.schema.json",
    "lockfile.schema.json",
)
GITIGNORE_ENTRIES = (".orchestrator/",)
VERSION_MARK = "@ORCHESTRATOR_VERSION@"

# destination (relative to the project) -> template file name
PROJECT_FILES = {
    "orchestrator.yaml": "orchestrator.yaml",
    "assistants/order-helper.yaml": "assistant.yaml",
    "scenarios/order-status.yaml": "scenario.yaml",
    "scenarios/handlers/orders.py": "handler.py.tmpl",
}
CI_FILES = {"github": {".github/workflows/assistants.yml": "github-workflow.yml"}}


class ScaffoldError(Exception):
    """The project cannot be created as asked (nothing was written)."""


@dataclass(frozen=True)
class ScaffoldResult:
    root: Path
    created: tuple[Path, ...]
    # .gitignore when it existed and got entries appended.
    updated: tuple[Path, ...]


def _template(name: str) -> str:
    return (
        resources.files("orchestrator.project")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
        .replace(VERSION_MARK, __version__)
    )


def _schema(name: str) -> str:
    return resources.files("orchestrator").joinpath("schemas", name).read_text(encoding="utf-8")


def planned_files(ci: str | None) -> dict[str, str]:
    """Destination -> content of every file `init` creates (not .gitignore)."""
    if ci is not None and ci not in CI_FILES:
        raise ScaffoldError(f"unknown CI provider {ci!r}: expected one of {', '.join(CI_FILES)}")
    files = {dest: _template(name) for dest, name in PROJECT_FILES.items()}
    files.update({f"{SCHEMAS_DIR}/{name}": _schema(name) for name in SCHEMA_FILES})
    if ci is not None:
        files.update({dest: _template(name) for dest, name in CI_FILES[ci].items()})
    return files


def scaffold(root: Path, ci: str | None = None) -> ScaffoldResult:
    """Create a new project in ``root`` (created if missing)."""
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root} exists and is not a folder")
    files = planned_files(ci)
    existing = [dest for dest in files if (root / dest).exists()]
    if existing:
        raise ScaffoldError(
            f"{root / existing[0]} already exists"
            + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + "; init never overwrites: move it away or run init in another folder"
        )
    created = []
    for dest, content in files.items():
        path = root / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        created.append(path)
    gitignore = root / ".gitignore"
    updated: tuple[Path, ...] = ()
    if gitignore.exists():
        text = gitignore.read_text(encoding="utf-8")
        missing = [e for e in GITIGNORE_ENTRIES if e not in text.splitlines()]
        if missing:
            sep = "" if not text or text.endswith("\n") else "\n"
            gitignore.write_text(text + sep + "\n".join(missing) + "\n", encoding="utf-8")
            updated = (gitignore,)
    else:
        gitignore.write_text(_template("gitignore"), encoding="utf-8")
        created.append(gitignore)
    return ScaffoldResult(root, tuple(created), updated)
