"""Folder resources of the client (asset API, reference §5.2a): browse (offset-paged), by id,
by name, create, and one way to name a folder anywhere a folder is wanted — an id, a
``{"id", "type"}`` reference, a :class:`Folder`, or a path such as
``"Lead Database/Default/Group Lists/Imports"``. A mixin over
:class:`~paragon_nb.marketo._base.ClientBase`.

    imports = client.create_folder("Imports", parent="Lead Database/Default/Group Lists")
    client.create_list("Webinar", folder=imports)            # or folder=imports.id / its path
    [f.path for f in client.browse_folders(root=12, max_depth=1)]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from paragon_nb.errors import ConfigurationError, MarketoNotFound
from paragon_nb.marketo._base import ClientBase
from paragon_nb.marketo.models import Folder
from paragon_nb.marketo.paging import OffsetPager

__all__ = ["FolderSpec", "FoldersMixin", "LIST_FOLDER_TYPE"]

FolderSpec = int | str | Mapping[str, Any] | Folder
# The folderType of folders that hold static lists (Lead Database > Group Lists and its
# subfolders); programs hold lists too.
LIST_FOLDER_TYPE = "List"


def _clean_path(path: str) -> str:
    return "/".join(part.strip() for part in path.split("/") if part.strip())


class FoldersMixin(ClientBase):
    """Folders: browse, get, find by name, create, and folder references."""

    def iter_folders(
        self,
        root: FolderSpec | None = None,
        *,
        max_depth: int | None = None,
        workspace: str | None = None,
        page_size: int = 200,
    ) -> Iterator[Folder]:
        """Browse (``GET /rest/asset/v1/folders.json``): ``root`` and its descendants down to
        ``max_depth`` levels (Marketo's default 2; 0 is the root alone), or the top-level
        folders and theirs without ``root``. Offset-paged, ``page_size`` <= 200 a call.

        Marketo computes each page anew, so a folder can come back on two pages when the
        tree changes while paging; it is yielded once."""
        query: dict[str, Any] = {"maxDepth": max_depth, "workSpace": workspace}
        if root is not None:
            query["root"] = json.dumps(self.folder_ref(root))
        pager = OffsetPager(page_size)
        seen: set[tuple[int, str]] = set()
        while not pager.done:
            envelope = self._call(
                "GET", "/rest/asset/v1/folders.json", params={**query, **pager.params()},
                what="browse folders",
            )  # fmt: skip
            for item in pager.advance(envelope):
                folder = Folder.model_validate(item)
                key = (folder.id, folder.ref["type"])
                if key not in seen:
                    seen.add(key)
                    yield folder

    def browse_folders(self, root: FolderSpec | None = None, **kwargs: Any) -> list[Folder]:
        """Eager :meth:`iter_folders`."""
        return list(self.iter_folders(root, **kwargs))

    def get_folder(self, folder: FolderSpec) -> Folder | None:
        """One folder by id, reference, :class:`Folder` or path, or ``None`` when Marketo has
        no such folder (a path that matches nothing raises :class:`MarketoNotFound`)."""
        if isinstance(folder, str):
            return self._folder_at(folder)
        ref = self.folder_ref(folder)
        return self._asset_one(
            Folder, f"/rest/asset/v1/folder/{ref['id']}.json", params={"type": ref["type"]}
        )

    def find_folders(
        self, name: str, *, root: FolderSpec | None = None, workspace: str | None = None
    ) -> list[Folder]:
        """Every folder named exactly ``name`` (``GET folder/byName.json``), optionally only
        inside ``root``."""
        params: dict[str, Any] = {"name": name, "workSpace": workspace}
        if root is not None:
            ref = self.folder_ref(root)
            params.update(root=ref["id"], type=ref["type"])
        try:
            envelope = self._call(
                "GET", "/rest/asset/v1/folder/byName.json", params=params,
                what=f"find folder {name!r}",
            )  # fmt: skip
        except MarketoNotFound:
            return []
        return [Folder.model_validate(item) for item in envelope.get("result") or []]

    def create_folder(
        self, name: str, parent: FolderSpec, *, description: str | None = None
    ) -> Folder:
        """Create a folder under ``parent`` (``POST /rest/asset/v1/folders.json``).

        Marketo refuses an unknown parent (710), one that cannot hold folders (711) and a
        sibling of the same name (709); those raise. Creating is not idempotent: after an
        ambiguous failure (timeout, 5xx) the folder is looked up instead of made twice."""
        ref = self.folder_ref(parent)
        form = {"name": name, "parent": json.dumps(ref), "description": description}

        def made_already() -> Folder | None:
            for existing in self.find_folders(name):
                if existing.parent and int(existing.parent.get("id", -1)) == ref["id"]:
                    return existing
            return None

        return self._asset_create(
            Folder, "/rest/asset/v1/folders.json", form, what=f"create folder {name!r}",
            find_existing=made_already,
        )  # fmt: skip

    # ---------------------------------------------------------------- folder references
    def folder_ref(self, folder: FolderSpec) -> dict[str, Any]:
        """``{"id", "type"}`` for an id (a Folder id), a reference, a :class:`Folder` or a
        path (looked up: see :meth:`get_folder`)."""
        if isinstance(folder, Folder):
            return folder.ref
        if isinstance(folder, bool):
            raise ConfigurationError(f"folder {folder!r} is not a folder id, reference or path")
        if isinstance(folder, int):
            return {"id": folder, "type": "Folder"}
        if isinstance(folder, str):
            found = self._folder_at(folder)
            return found.ref
        if isinstance(folder, Mapping) and folder.get("id") is not None:
            kind = str(folder.get("type") or "Folder").capitalize()
            try:
                return {"id": int(folder["id"]), "type": kind}
            except (TypeError, ValueError):
                pass
        raise ConfigurationError(
            f"folder {folder!r} is not a folder id, a {{'id': .., 'type': 'Folder'}} reference "
            f"or a path like 'Lead Database/Default/Group Lists'"
        )

    def _folder_at(self, path: str) -> Folder:
        """The folder whose path is ``path`` (leading/trailing slashes optional); a bare name
        is accepted when exactly one folder has it."""
        wanted = _clean_path(path)
        if not wanted:
            raise ConfigurationError("folder path is empty; pass a path like 'Lead Database/...'")
        candidates = self.find_folders(wanted.rsplit("/", 1)[-1])
        exact = [f for f in candidates if _clean_path(f.path) == wanted]
        if not exact and "/" not in wanted:
            exact = candidates  # a bare name: fine when exactly one folder has it
        if len(exact) == 1:
            return exact[0]
        paths = sorted(f.path for f in candidates)
        if exact:
            raise ConfigurationError(
                f"folder {path!r} is ambiguous: {paths}; pass the full path or the folder id"
            )
        hint = f"folders with that name: {paths}" if paths else "no folder has that name"
        parent = wanted.rsplit("/", 1)[0] if "/" in wanted else None
        make = (
            f"; create it with client.create_folder({wanted.rsplit('/', 1)[-1]!r}, "
            f"parent={parent!r})"
            if parent
            else ""
        )
        raise MarketoNotFound(f"folder {path!r} not found in Marketo ({hint}){make}")

    def default_list_folder(self) -> dict[str, Any]:
        """Where :meth:`create_list` puts a list by default: the first folder of type
        "List" met browsing from the top (a system one — Group Lists — preferred), found by
        type rather than by a name that differs between instances. Looked up on every call
        (not cached), so a list creation always costs the same calls — the sync's dry run
        counts them (sync/dryrun.py) — and a deleted folder is never used."""
        fallback: Folder | None = None
        for folder in self.iter_folders():
            if folder.folder_type == LIST_FOLDER_TYPE:
                if folder.is_system:
                    fallback = folder
                    break
                fallback = fallback or folder
        if fallback is None:
            raise MarketoNotFound(
                "no folder of type 'List' found browsing Marketo's folders; pass "
                "folder=<id>, {'id': <id>, 'type': 'Folder'} or a path like "
                "'Lead Database/Default/Group Lists' to create_list"
            )
        return dict(fallback.ref)
