"""`orchestrator export`: YAML for assistants already on the server."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestrator.cli.arguments import GlobalOptions, project_options
from orchestrator.cli.session import connected, load_config_or_exit, settings_for
from orchestrator.cli.views.errors import fail, reported_errors
from orchestrator.cli.views.export import render_export
from orchestrator.reconcile.export import ExportOptions, export_assistants, report_to_json


@click.command("export")
@project_options
@click.argument("select", nargs=-1, metavar="[ID|KEY|NAME]...")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the YAML (default: the project's first assistants folder).",
)
@click.option("--managed-only", is_flag=True, help="Only assistants this namespace manages.")
@click.option("--unmanaged-only", is_flag=True, help="Only assistants nobody manages yet.")
@click.option(
    "--no-files", is_flag=True, help="Do not download code-interpreter / file-search files."
)
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a versioned machine-readable report to stdout."
)
@click.pass_obj
def export_command(
    obj: GlobalOptions,
    select: tuple[str, ...],
    project_dir: Path | None,
    base_url: str | None,
    api_key: str | None,
    namespace: str | None,
    output: Path | None,
    managed_only: bool,
    unmanaged_only: bool,
    no_files: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Write YAML (and function JSON, prompts, files) for assistants on the server.

    Brings existing assistants under management: export, review, then
    `orchestrator apply --adopt`, which takes over the very assistants exported (each
    YAML names its assistant in `adopt: {id: ...}`) with their files and vector stores.
    Unmanaged assistants go to imported/ under the output folder. Assistants managed by
    other namespaces are left out; an ID, KEY or NAME that matches nothing is an error.

    \b
    Examples:
      orchestrator export
      orchestrator export asst_abc123 -o assistants/imported
    """
    if managed_only and unmanaged_only:
        fail("--managed-only and --unmanaged-only exclude each other")
    project = load_config_or_exit(project_dir)
    settings = settings_for(project, base_url, api_key, namespace)
    target, ns = settings.target, settings.namespace
    root = project.config.root
    out = (output or root / project.config.assistants_paths[0]).resolve()
    options = ExportOptions(
        out_dir=out,
        select=list(select),
        include_managed=not unmanaged_only,
        include_unmanaged=not managed_only,
        download_files=not no_files,
        overwrite=force,
    )
    with reported_errors(target.describe()), connected(target) as api:
        report = export_assistants(api, ns, root, options)
    if as_json:
        click.echo(json.dumps(report_to_json(report, root), indent=2, ensure_ascii=False))
        return
    obj.echo(render_export(report, root, out))
    for w in report.warnings:
        obj.echo(click.style("Warning: ", fg="yellow", bold=True) + w, err=True)
