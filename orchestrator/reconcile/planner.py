"""The planner: desired vs. actual state -> a :class:`~orchestrator.reconcile.plan.Plan`.

:func:`make_plan` is pure (no server access): ``plan``, ``diff`` and ``apply`` all call
it on the state :mod:`.actual` listed.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from orchestrator.ownership import FILE_SHA_ATTRIBUTE, SHA_KEY, managed_metadata
from orchestrator.reconcile.actual import (
    ActualAssistant,
    ActualFile,
    ActualState,
    ActualVectorStore,
)
from orchestrator.reconcile.adoption import AdoptionMatch, adoption_ids, adoption_matches
from orchestrator.reconcile.desired import (
    ASSISTANT_FIELDS,
    DesiredAssistant,
    DesiredState,
    DesiredVectorStore,
)
from orchestrator.reconcile.errors import ReconcileError
from orchestrator.reconcile.fielddiff import (
    FieldDiff,
    scalar_diff,
    show,
    structure_diff,
    text_diff,
    tools_diff,
)
from orchestrator.reconcile.identity import (
    SHA_PREFIX_LEN,
    STORE_FILES_KEYS,
    files_metadata,
    is_files_key,
    without_file_entries,
)
from orchestrator.reconcile.normalise import chunking_matches, normalise_fields
from orchestrator.reconcile.plan import (
    KIND_ORDER,
    Action,
    AssistantOp,
    Change,
    FileOp,
    Plan,
    PlanOptions,
    VectorStoreOp,
)


def _pick(candidates: list[Any], sha: str) -> Any:
    """The object a key resolves to: the one written for this spec, else the oldest."""
    if not candidates:
        return None
    return sorted(candidates, key=lambda o: (o.sha256 != sha, o.created_at, o.id))[0]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# -- the planner --------------------------------------------------------------------------


class _Planner:
    def __init__(self, desired: DesiredState, actual: ActualState, options: PlanOptions) -> None:
        self.d = desired
        self.a = actual
        self.opt = options
        self.changes: list[Change] = []
        self.warnings: list[str] = list(desired.warnings)
        self.ours = actual.files_by_id()
        # (12-hex prefix, size) -> desired sha256, to resolve file entries
        self.desired_by_prefix = {(s[:SHA_PREFIX_LEN], f.size): s for s, f in desired.files.items()}
        # Content the code interpreter uses: its file must carry the YAML's name, since
        # the sandbox shows files by name.
        self.ci_shas = {s for a in desired.assistants.values() for s in a.code_interpreter_files}
        # References from every managed object now, to prefer referenced duplicates.
        self.refcount: dict[str, int] = defaultdict(int)
        # Store id -> its key, built once: per assistant it made planning O(assistants × stores).
        self.store_keys = {vs.id: vs.key for vs in actual.vector_stores}
        for vs in actual.vector_stores:
            for f in vs.files:
                self.refcount[f.file_id] += 1
        for asst in actual.assistants:
            for fid in asst.code_interpreter_file_ids:
                self.refcount[fid] += 1
        # desired sha256 -> the existing file that new references use
        self.file_for_sha: dict[str, str] = {}
        # desired sha256 -> a file that holds it under another name (code interpreter)
        self.misnamed: dict[str, ActualFile] = {}
        by_sha: dict[str, list[ActualFile]] = defaultdict(list)
        for f in actual.files:
            sha = self.desired_sha_of(f)
            if sha is not None:
                by_sha[sha].append(f)
        for sha, files in by_sha.items():
            name = desired.files[sha].name
            best = sorted(
                files,
                key=lambda f: (f.filename != name, -self.refcount[f.id], f.created_at, f.id),
            )[0]
            if sha in self.ci_shas and best.filename != name:
                self.misnamed[sha] = best
                continue
            self.file_for_sha[sha] = best.id
        # File ids the state after this plan still references.
        self.keep_files: set[str] = set()
        # vector store key -> id of the store that stays (None: a new one is created)
        self.vs_final: dict[str, str | None] = {}
        # Desired assistants without a managed object: the unmanaged one each takes over.
        self.adoption = adoption_matches(desired, actual)
        # Unmarked vector stores this plan adopts: id -> desired key.
        self.adopted_stores: dict[str, str] = {}

    # -- labels -----------------------------------------------------------------------

    def file_label(self, sha: str) -> str:
        f = self.d.files.get(sha)
        return f.paths[0] if f else sha[:16]

    def desired_sha_of(self, f: ActualFile) -> str | None:
        """The desired content this file holds (None: legacy, or content no longer wanted)."""
        if f.legacy:
            return None
        if f.sha256:
            d = self.d.files.get(f.sha256)
            return f.sha256 if d is not None and d.size == f.bytes else None
        if f.sha_prefix:
            sha = self.desired_by_prefix.get((f.sha_prefix[:SHA_PREFIX_LEN], f.bytes))
            return sha if sha is not None and f.holds(sha, f.bytes) else None
        return None

    def file_key_of(self, file_id: str) -> str:
        """A comparable identity of a referenced file: its desired sha256, else a marker."""
        if file_id in self.a.missing_files:
            return f"missing:{file_id}"
        ours = self.ours.get(file_id)
        if ours is None:
            return f"unmanaged:{file_id}"
        if ours.legacy:
            return f"legacy:{file_id}"
        sha = self.desired_sha_of(ours)
        return sha if sha is not None else f"old:{file_id}"

    def ci_key_of(self, file_id: str) -> str:
        """As :meth:`file_key_of`, and a file under another name than the YAML's differs."""
        key = self.file_key_of(file_id)
        if key in self.d.files and self.ours[file_id].filename != self.d.files[key].name:
            return f"renamed:{file_id}"
        return key

    def show_file(self, key: str) -> str:
        if key in self.d.files:
            return self.file_label(key)
        kind, _, file_id = key.partition(":")
        if kind == "unmanaged":
            return f"{file_id} (not managed)"
        if kind == "missing":
            return f"{file_id} (deleted from the server)"
        ours = self.ours.get(file_id)
        if ours is None:
            return key
        if kind == "legacy":
            return f"{ours.name} ({file_id}, under the hash-tagged name {ours.filename})"
        return f"{ours.name} ({file_id})"

    # -- files --------------------------------------------------------------------------

    def _create_reason(self, sha: str) -> str:
        f = self.d.files[sha]
        if sha in self.misnamed:
            other = self.misnamed[sha]
            return (
                "renamed: the code interpreter shows files by name, and the server has this "
                f"content as {other.filename} [{other.id}]"
            )
        legacy = [
            o for o in self.a.files if o.legacy and o.sha_prefix and sha.startswith(o.sha_prefix)
        ]
        if legacy:
            return (
                f"under its own name; replaces {legacy[0].filename} ({legacy[0].id}), uploaded "
                "under a hash-tagged name by an earlier version"
            )
        return "new content" if len(f.paths) == 1 else f"also at {', '.join(f.paths[1:])}"

    def plan_file_creates(self) -> None:
        for sha, f in sorted(self.d.files.items(), key=lambda kv: kv[1].paths[0]):
            if sha in self.file_for_sha:
                self.changes.append(
                    Change(
                        kind="file",
                        action="noop",
                        key=sha,
                        label=f.paths[0],
                        id=self.file_for_sha[sha],
                    )
                )
                continue
            self.changes.append(
                Change(
                    kind="file",
                    action="create",
                    key=sha,
                    label=f.paths[0],
                    reason=self._create_reason(sha),
                    file=FileOp(
                        sha256=sha,
                        size=f.size,
                        upload_name=f.name,
                        paths=list(f.paths),
                    ),
                )
            )

    def plan_file_deletes(self) -> None:
        keep = self.keep_files | set(self.file_for_sha.values())
        for f in sorted(self.a.files, key=lambda f: (f.created_at, f.id)):
            if f.id in keep or f.origin == "adopt":
                # A file adopted now is its owner's until an apply made it ours.
                continue
            sha = self.desired_sha_of(f)
            if f.legacy:
                reason = "uploaded under a hash-tagged name by an earlier version"
            elif f.origin == "journal":
                reason = "left behind by an interrupted apply"
            elif sha is not None and sha in self.misnamed and f.filename != self.d.files[sha].name:
                reason = f"renamed to {self.d.files[sha].name} for the code interpreter"
            elif sha is not None:
                reason = "duplicate upload"
            else:
                reason = "no longer used"
            self.changes.append(
                Change(
                    kind="file",
                    action="delete",
                    key=sha or f.sha256 or f.sha_prefix or f.id,
                    label=f.name,
                    id=f.id,
                    reason=reason,
                )
            )

    def plan_journals(self) -> None:
        for page in self.a.journals:
            what = []
            if page.uploads:
                what.append(f"{len(page.uploads)} upload{'s' if len(page.uploads) != 1 else ''}")
            if page.deletes:
                what.append(f"{len(page.deletes)} deletion{'s' if len(page.deletes) != 1 else ''}")
            self.changes.append(
                Change(
                    kind="journal",
                    action="delete",
                    key=page.id,
                    label="interrupted apply",
                    id=page.id,
                    reason=f"its record of {' and '.join(what) or 'nothing'} is resolved by "
                    "this plan",
                )
            )

    # -- vector stores ---------------------------------------------------------------------

    def _match_by_key(
        self,
        actual: list[Any],
        desired: dict[str, Any],
        delete: Callable[[Any, str], Change],
    ) -> tuple[list[tuple[Any, Any]], list[Any]]:
        """Pair each desired object with the server object its key resolves to (extra
        copies with the same key, left by an interrupted run, are deleted), and return
        the managed objects whose key left the YAML, oldest first."""
        groups: dict[str, list[Any]] = defaultdict(list)
        for obj in actual:
            groups[obj.key].append(obj)
        matched = []
        for key in sorted(desired):
            want = desired[key]
            cands = groups.pop(key, [])
            primary = _pick(cands, want.sha256)
            for dup in cands:
                if dup is not primary:
                    self.changes.append(delete(dup, f"duplicate of {primary.id}"))
            matched.append((want, primary))
        gone = [
            obj
            for key in sorted(groups)
            for obj in sorted(groups[key], key=lambda o: (o.created_at, o.id))
        ]
        return matched, gone

    def plan_vector_stores(self) -> None:
        matched, gone = self._match_by_key(
            self.a.vector_stores, self.d.vector_stores, self._vs_delete
        )
        for dvs, primary in matched:
            if primary is None and self.opt.adopt:
                adopted = self._vs_adopt(dvs)
                if adopted is not None:
                    self.changes.append(adopted)
                    continue
            self.changes.append(self._vs_change(dvs, primary))
        for vs in gone:
            if self.opt.prune:
                self.changes.append(self._vs_delete(vs, "no longer in the YAML"))
            else:
                self.keep_files.update(f.file_id for f in vs.files)
                self.changes.append(
                    Change(
                        kind="vector_store",
                        action="orphan",
                        key=vs.key,
                        label=vs.key,
                        id=vs.id,
                        reason="no longer in the YAML; --prune deletes it",
                        refs={"file_ids": [f.file_id for f in vs.files]},
                    )
                )

    def _vs_adopt(self, dvs: DesiredVectorStore) -> Change | None:
        """Take over the unmarked store the adopted assistants of this store use, when it
        can stay (a store that would be replaced is left to its owner)."""
        adoptable = {v.id: v for v in self.a.adoptable_stores}
        for key in sorted(dvs.assistants):
            match = self.adoption.get(key)
            if match is None or match.target is None:
                continue
            for vid in match.target.vector_store_ids:
                vs = adoptable.get(vid)
                if vs is None or vid in self.adopted_stores:
                    continue
                change = self._vs_change(dvs, vs)
                if change.action not in ("noop", "update"):
                    self.vs_final.pop(dvs.key, None)
                    continue
                self.adopted_stores[vid] = dvs.key
                change.action = "adopt"
                change.drift = False
                change.reason = (
                    f"takes over the unmanaged vector store {vs.name or vid!r} that "
                    f"{match.target.id} uses"
                )
                if change.vector_store is not None:
                    change.vector_store.update_store = True
                return change
        return None

    def _vs_delete(self, vs: ActualVectorStore, reason: str) -> Change:
        return Change(
            kind="vector_store", action="delete", key=vs.key, label=vs.key, id=vs.id, reason=reason
        )

    def _vs_metadata(self, dvs: DesiredVectorStore) -> dict[str, str]:
        return managed_metadata(self.d.namespace, dvs.key, dvs.sha256)

    def _vs_change(self, dvs: DesiredVectorStore, vs: ActualVectorStore | None) -> Change:
        meta = self._vs_metadata(dvs)
        full = VectorStoreOp(
            name=dvs.name,
            metadata=meta,
            chunking_strategy=dvs.chunking_strategy,
            attach=list(dvs.file_shas),
            file_shas=list(dvs.file_shas),
        )
        if vs is None:
            self.vs_final[dvs.key] = None
            return Change(
                kind="vector_store",
                action="create",
                key=dvs.key,
                label=dvs.key,
                vector_store=full,
                diffs=[_listing("files", sorted(self.file_label(s) for s in dvs.file_shas))],
            )
        replace_reason = None
        if vs.status == "expired":
            replace_reason = "the store expired"
        elif any(
            f.status in ("completed", "in_progress")
            and not chunking_matches(f.chunking_strategy, dvs.chunking_strategy)
            for f in vs.files
        ):
            replace_reason = "chunking strategy changed"
        if replace_reason:
            self.vs_final[dvs.key] = None
            return Change(
                kind="vector_store",
                action="replace",
                key=dvs.key,
                label=dvs.key,
                id=vs.id,
                reason=replace_reason,
                vector_store=full,
            )
        self.vs_final[dvs.key] = vs.id
        wanted = set(dvs.file_shas)
        seen: set[str] = set()
        detach: list[str] = []
        set_attrs: dict[str, str] = {}
        failed: list[str] = []
        keep: dict[str, str] = {}
        for f in sorted(vs.files, key=lambda f: f.file_id):
            k = self.file_key_of(f.file_id)
            if k not in wanted or k in seen:
                detach.append(f.file_id)
                continue
            if f.status in ("failed", "cancelled"):
                # Indexing failed: detach and attach again (the error is in the reason).
                detach.append(f.file_id)
                err = (f.last_error or {}).get("message") or f.status
                failed.append(f"{self.file_label(k)}: {err}")
                continue
            seen.add(k)
            keep[f.file_id] = k
            self.keep_files.add(f.file_id)
            if f.attributes.get(FILE_SHA_ATTRIBUTE) != k:
                set_attrs[f.file_id] = k
        attach = sorted(wanted - seen, key=self.file_label)
        diffs: list[FieldDiff] = []
        before = sorted(self.show_file(self.file_key_of(f.file_id)) for f in vs.files)
        after = sorted(self.file_label(s) for s in dvs.file_shas)
        if attach or detach:
            lines = [f"+ {self.file_label(s)}" for s in attach]
            for fid in detach:
                shown = self.show_file(self.file_key_of(fid))
                lines.append(f"- {shown}" if fid in shown else f"- {shown} [{fid}]")
            diffs.append(FieldDiff("files", "structure", before, after, lines))
        if set_attrs:
            diffs.append(
                structure_diff(
                    "attributes",
                    {self.show_file(k): None for k in set_attrs.values()},
                    {self.show_file(k): {FILE_SHA_ATTRIBUTE: k} for k in set_attrs.values()},
                )
            )
        update_store = False
        if (vs.name or None) != dvs.name:
            diffs.append(scalar_diff("name", vs.name, dvs.name))
            update_store = True
        current = without_file_entries(vs.metadata)
        if current != meta:
            update_store = True
            if not diffs or _differs_beyond_hash(current, meta):
                diffs.append(structure_diff("metadata", current, meta))
        # The file entries after this change: known now unless a file is still to upload.
        final = dict(keep)
        for sha in attach:
            fid = self.file_for_sha.get(sha)
            if fid is None:
                final = None  # type: ignore[assignment]
                break
            final[fid] = sha
        entries_now = {k: v for k, v in vs.metadata.items() if is_files_key(k)}
        if final is None or files_metadata(final.items(), STORE_FILES_KEYS) != entries_now:
            update_store = True
            if final is not None and not diffs:
                # Only our record of the store's files is out of date (edited by hand).
                diffs.append(
                    structure_diff(
                        "metadata.orchestrator-files",
                        entries_now,
                        files_metadata(final.items(), STORE_FILES_KEYS),
                    )
                )
        op = VectorStoreOp(
            name=dvs.name,
            metadata=meta,
            chunking_strategy=dvs.chunking_strategy,
            attach=attach,
            detach=detach,
            set_attributes=set_attrs,
            update_store=update_store,
            file_shas=list(dvs.file_shas),
            keep=keep,
        )
        refs = {"file_ids": [f.file_id for f in vs.files]}
        if not diffs:
            return Change(
                kind="vector_store", action="noop", key=dvs.key, label=dvs.key, id=vs.id, refs=refs
            )
        legacy = [fid for fid in detach if self.file_key_of(fid).startswith("legacy:")]
        # Same spec, yet different: edited on the server (a failed indexing or files of an
        # earlier version are no edit, and have their own reason).
        drift = vs.sha256 == dvs.sha256 and not legacy and not failed
        reason = "indexing failed: " + "; ".join(failed) if failed else None
        if legacy and not reason:
            reason = "its files are uploaded again under their own names"
        return Change(
            kind="vector_store",
            action="update",
            key=dvs.key,
            label=dvs.key,
            id=vs.id,
            drift=drift,
            reason=reason or ("changed on the server" if drift else None),
            diffs=diffs,
            vector_store=op,
            refs=refs,
        )

    # -- assistants --------------------------------------------------------------------------

    def _comparable_refs(self, asst: ActualAssistant) -> tuple[list[str], list[str]]:
        ci = [self.ci_key_of(fid) for fid in asst.code_interpreter_file_ids]
        stores = []
        for vid in asst.vector_store_ids:
            # Stores this plan adopts count as the key they are adopted for.
            key = self.adopted_stores.get(vid, self.store_keys.get(vid))
            if key is None:
                stores.append(f"unmanaged:{vid}")
            elif self.vs_final.get(key) == vid:
                stores.append(key)
            else:
                stores.append(f"{key}@{vid}")
        return ci, stores

    def _store_replaced_by_plan(self, asst: ActualAssistant, da: DesiredAssistant) -> bool:
        """Its vector store differs only because this plan replaces that store."""
        _, stores = self._comparable_refs(asst)
        now = []
        for ref in stores:
            key, at, _ = ref.partition("@")
            now.append(key if at and key in self.vs_final and self.vs_final[key] is None else ref)
        return stores != now and now == ([da.vector_store] if da.vector_store else [])

    def _assistant_diffs(
        self, asst: ActualAssistant, da: DesiredAssistant, meta: dict[str, str]
    ) -> tuple[list[FieldDiff], dict[str, Any], bool, dict[str, str]]:
        """Field diffs, the fields to send, whether tool_resources must be sent, and the
        metadata to send (with the file entries when the files stay as they are)."""
        have = normalise_fields(asst.raw)
        want = normalise_fields(da.fields)
        diffs: list[FieldDiff] = []
        send: dict[str, Any] = {}
        for name in ASSISTANT_FIELDS:
            if have[name] == want[name]:
                continue
            send[name] = da.fields.get(name)
            if name == "instructions":
                diffs.append(
                    text_diff(
                        name, have[name], want[name], label=da.instructions_source or da.source
                    )
                )
            elif name == "tools":
                diffs.append(tools_diff(name, have[name], want[name]))
            elif isinstance(have[name], (dict, list)) or isinstance(want[name], (dict, list)):
                diffs.append(structure_diff(name, have[name], want[name]))
            else:
                diffs.append(scalar_diff(name, have[name], want[name]))
        ci, stores = self._comparable_refs(asst)
        want_stores = [da.vector_store] if da.vector_store else []
        send_resources = False
        if sorted(ci) != sorted(da.code_interpreter_files):
            diffs.append(
                structure_diff(
                    "code_interpreter.files",
                    sorted(self.show_file(k) for k in ci),
                    sorted(self.file_label(k) for k in da.code_interpreter_files),
                )
            )
            send_resources = True
        if stores != want_stores:
            diffs.append(structure_diff("file_search.vector_stores", stores, want_stores))
            send_resources = True
        current = without_file_entries(asst.metadata)
        if current != meta and (not diffs or _differs_beyond_hash(current, meta)):
            # The spec hash changes with every other change: shown only when alone.
            diffs.append(structure_diff("metadata", current, meta))
        full = dict(meta)
        if not send_resources:
            # The files stay: their entries are written as they are now (sent with any update).
            entries = files_metadata(zip(asst.code_interpreter_file_ids, ci, strict=True))
            full.update(entries)
            now = {k: v for k, v in asst.metadata.items() if is_files_key(k)}
            if entries != now and not diffs:
                # Only our record of which file holds what is out of date (edited by hand).
                diffs.append(structure_diff("metadata.orchestrator-files", now, entries))
        return diffs, send, send_resources, full

    def plan_assistants(self) -> None:
        matched, gone = self._match_by_key(self.a.assistants, self.d.assistants, self._asst_delete)
        for da, primary in matched:
            self.changes.append(self._asst_change(da, primary))
        for a in gone:
            if self.opt.prune:
                self.changes.append(self._asst_delete(a, "no longer in the YAML"))
            else:
                self.keep_files.update(a.code_interpreter_file_ids)
                self.changes.append(
                    Change(
                        kind="assistant",
                        action="orphan",
                        key=a.key,
                        label=a.key,
                        id=a.id,
                        name=a.name,
                        reason="no longer in the YAML; --prune deletes it",
                        refs=_asst_refs(a),
                    )
                )

    def _create_diffs(self, da: DesiredAssistant) -> list[FieldDiff]:
        """What a new assistant will hold, field by field (as Terraform lists a create)."""
        out: list[FieldDiff] = []
        for name in ASSISTANT_FIELDS:
            value = da.fields.get(name)
            if value is None or value == []:
                continue
            if name == "instructions":
                out.append(text_diff(name, None, value, label=da.instructions_source or da.source))
            elif name == "tools":
                out.append(_listing(name, [_tool_label(t) for t in value]))
            else:
                out.append(FieldDiff(name, "scalar", None, value, [f"+ {show(value)}"]))
        if da.code_interpreter_files:
            labels = [self.file_label(s) for s in da.code_interpreter_files]
            out.append(_listing("code_interpreter.files", labels))
        if da.vector_store:
            out.append(_listing("file_search.vector_stores", [da.vector_store]))
        if da.user_metadata:
            out.append(structure_diff("metadata", {}, da.user_metadata))
        return out

    def _asst_delete(self, a: ActualAssistant, reason: str) -> Change:
        return Change(
            kind="assistant", action="delete", key=a.key, label=a.key, id=a.id, reason=reason
        )

    def _asst_adopt(
        self, da: DesiredAssistant, match: AdoptionMatch, meta: dict[str, str]
    ) -> Change:
        if match.conflict:
            return _asst(da, "blocked", reason=match.conflict)
        target = match.target
        assert target is not None
        if match.by == "id":
            found = f"{target.id}, the unmanaged assistant its YAML was exported from (adopt.id)"
            hint = ""
        else:
            found = f"an unmanaged assistant named {target.name!r} ({target.id})"
            hint = ", or rename one of them"
        if not self.opt.adopt:
            return _asst(
                da, "blocked", reason=f"{found} exists; run with --adopt to take it over{hint}"
            )
        diffs, send, send_res, full = self._assistant_diffs(target, da, meta)
        if not send_res:
            # Its files stay referenced (and become ours with the file entries).
            self.keep_files.update(target.code_interpreter_file_ids)
        reason = f"takes over {found}"
        if match.id_not_found:
            reason += f"; its adopt.id {da.adopt_id} is not an unmanaged assistant here"
        return _asst(
            da,
            "adopt",
            id=target.id,
            reason=reason,
            diffs=diffs,
            assistant=_asst_op(da, send, full, send_res),
            refs=_asst_refs(target),
        )

    def _asst_change(self, da: DesiredAssistant, primary: ActualAssistant | None) -> Change:
        meta = {**da.user_metadata, **managed_metadata(self.d.namespace, da.key, da.sha256)}
        for sha in da.code_interpreter_files:
            if sha in self.file_for_sha:
                self.keep_files.add(self.file_for_sha[sha])
        if primary is None:
            match = self.adoption.get(da.key)
            if match is not None and (match.target is not None or match.conflict):
                return self._asst_adopt(da, match, meta)
            if match is not None and match.id_not_found:
                self.warnings.append(
                    f"assistant {da.key!r}: its adopt.id {da.adopt_id} is not an unmanaged "
                    "assistant on this server; it is created as a new one"
                )
            fields = {k: v for k, v in da.fields.items() if v is not None}
            return _asst(
                da,
                "create",
                diffs=self._create_diffs(da),
                assistant=_asst_op(
                    da, fields, meta, bool(da.code_interpreter_files or da.vector_store)
                ),
            )
        diffs, send, send_res, full = self._assistant_diffs(primary, da, meta)
        refs = _asst_refs(primary)
        if not diffs:
            self.keep_files.update(primary.code_interpreter_file_ids)
            return _asst(da, "noop", id=primary.id, refs=refs)
        if not send_res:
            # Its current files stay referenced.
            self.keep_files.update(primary.code_interpreter_file_ids)
        # The server object differs although it carries this spec's hash: edited by hand
        # (files of an earlier version, under hash-tagged names, are no edit).
        legacy = any(
            self.file_key_of(fid).startswith("legacy:") for fid in primary.code_interpreter_file_ids
        )
        swapped = self._store_replaced_by_plan(primary, da)
        drift = (
            primary.sha256 == da.sha256
            and not legacy
            # A store this plan replaces is no edit on the server.
            and (not swapped or any(d.field != "file_search.vector_stores" for d in diffs))
        )
        if drift:
            reason: str | None = "changed on the server"
        elif legacy:
            reason = "its files are uploaded again under their own names"
        else:
            reason = "its vector store is replaced" if swapped else None
        return _asst(
            da,
            "update",
            id=primary.id,
            drift=drift,
            reason=reason,
            diffs=diffs,
            assistant=_asst_op(da, send, full, send_res),
            refs=refs,
        )


def _asst(da: DesiredAssistant, action: Action, **fields: Any) -> Change:
    return Change(
        kind="assistant",
        action=action,
        key=da.key,
        label=da.key,
        name=da.fields.get("name"),
        **fields,
    )


def _asst_op(
    da: DesiredAssistant,
    fields: dict[str, Any],
    metadata: dict[str, str],
    send_tool_resources: bool,
) -> AssistantOp:
    return AssistantOp(
        fields=fields,
        metadata=metadata,
        code_interpreter_files=list(da.code_interpreter_files),
        vector_store=da.vector_store,
        send_tool_resources=send_tool_resources,
    )


def _listing(name: str, items: list[str]) -> FieldDiff:
    return FieldDiff(name, "structure", [], items, [f"+ {item}" for item in items])


def _tool_label(tool: dict[str, Any]) -> str:
    if tool.get("type") == "function":
        return f"function {tool['function']['name']}"
    options = tool.get("file_search")
    return f"file_search {show(options)}" if options else str(tool.get("type"))


def _differs_beyond_hash(a: dict[str, str], b: dict[str, str]) -> bool:
    return {k: v for k, v in a.items() if k != SHA_KEY and not is_files_key(k)} != {
        k: v for k, v in b.items() if k != SHA_KEY and not is_files_key(k)
    }


def _asst_refs(a: ActualAssistant) -> dict[str, list[str]]:
    return {"vector_store_ids": a.vector_store_ids, "file_ids": a.code_interpreter_file_ids}


def make_plan(
    desired: DesiredState,
    actual: ActualState,
    options: PlanOptions | None = None,
    *,
    target: str = "",
) -> Plan:
    """Compare desired with actual; the one planner behind ``plan``, ``diff`` and ``apply``."""
    options = options or PlanOptions()
    if options.prune and desired.partial:
        raise ReconcileError(
            "--prune needs the whole project: only some files were loaded, so every other "
            "managed object would look deleted. Run without paths to prune."
        )
    p = _Planner(desired, actual, options)
    p.plan_vector_stores()
    p.plan_assistants()
    p.plan_file_creates()
    p.plan_file_deletes()
    p.plan_journals()
    changes = sorted(p.changes, key=_order)
    names = sorted({n for a in desired.assistants.values() if (n := a.fields.get("name"))})
    plan = Plan(
        namespace=desired.namespace,
        fingerprint=actual.fingerprint(set(names), set(adoption_ids(p.adoption))),
        changes=changes,
        options=options,
        target=target,
        adoption_names=names,
        adoption_ids=adoption_ids(p.adoption),
        warnings=p.warnings,
        partial=desired.partial,
        created_at=_now(),
        known_files=dict(sorted(p.file_for_sha.items())),
        known_vector_stores={k: v for k, v in sorted(p.vs_final.items()) if v is not None},
        desired_files={s: list(f.paths) for s, f in sorted(desired.files.items())},
    )
    orphans = [c for c in changes if c.action == "orphan"]
    if orphans and desired.partial:
        for c in orphans:
            c.reason = "not in the given paths; left as it is"
        plan.warnings.append(
            f"{len(orphans)} managed object{'s' if len(orphans) != 1 else ''} outside the "
            "given paths are left as they are."
        )
    elif orphans:
        plan.warnings.append(
            f"{len(orphans)} managed object{'s' if len(orphans) != 1 else ''} left the YAML "
            "and will be kept; run with --prune to delete "
            f"{'them' if len(orphans) != 1 else 'it'}."
        )
    return plan


def _order(c: Change) -> tuple[int, int, str]:
    # Creates and updates: files, stores, assistants; deletions after, in reverse; the
    # journals of interrupted applies last (once what they recorded is resolved).
    if c.kind == "journal":
        return (2, 0, c.label)
    if c.action == "delete":
        return (1, -KIND_ORDER[c.kind], c.label)
    return (0, KIND_ORDER[c.kind], c.label)
