"""The sandbox's route table: path pattern -> {effective method: (handler, is_write)}. The
envelope kind of a route ("asset" under ``/rest/asset/``, else "lead") follows from its path.

``resolve(req)`` answers 605 for a known path with the wrong verb and 610 for an unknown path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from paragon_nb.sandbox import bulk, folders, leads, lists
from paragon_nb.sandbox.wire import ApiError, Request, lead_envelope

__all__ = ["ROUTES", "Handler", "resolve"]

Handler = Callable[..., Any]
# (path regex, {effective method: (handler, is_write)})
ROUTES: list[tuple[re.Pattern[str], dict[str, tuple[Handler, bool]]]] = []


def _route(pattern: str, **methods: tuple[Handler, bool]) -> None:
    ROUTES.append((re.compile(pattern + r"\Z"), methods))


def _usage(days: int) -> Handler:
    return lambda ctx, req: lead_envelope(ctx.gate.usage.usage_rows(ctx.gate.days(days)))


def _errors(days: int) -> Handler:
    return lambda ctx, req: lead_envelope(ctx.gate.usage.error_rows(ctx.gate.days(days)))


_route(
    "/rest/v1/leads\\.json",
    POST=(leads.sync_leads, True),
    GET=(leads.query_leads, False),
    DELETE=(leads.delete_leads, True),
)
_route("/rest/v1/leads/delete\\.json", POST=(leads.delete_leads, True))
_route("/rest/v1/lead/(\\d+)\\.json", GET=(leads.get_lead, False))
_route("/rest/v1/leads/describe\\.json", GET=(leads.describe, False))
_route("/rest/v1/leads/describe2\\.json", GET=(leads.describe2, False))
_route("/rest/v1/leads/partitions\\.json", GET=(leads.partitions, False))
_route("/rest/v1/leads/schema/fields\\.json", GET=(leads.schema_fields, False))
_route("/rest/v1/leads/schema/fields/(\\w+)\\.json", GET=(leads.schema_field, False))
_route("/rest/v1/leads/(\\d+)/listMembership\\.json", GET=(leads.lead_list_membership, False))
_route("/rest/v1/lists\\.json", GET=(lists.get_lists, False))
_route("/rest/v1/lists/(\\d+)\\.json", GET=(lists.get_list, False))
_route(
    "/rest/v1/lists?/(\\d+)/leads\\.json",
    GET=(lists.members, False),
    POST=(lists.add_members, True),
    DELETE=(lists.remove_members, True),
)
_route("/rest/v1/lists?/(\\d+)/leads/ismember\\.json", GET=(lists.is_member, False))
_route("/rest/v1/stats/usage\\.json", GET=(_usage(1), False))
_route("/rest/v1/stats/usage/last7days\\.json", GET=(_usage(7), False))
_route("/rest/v1/stats/errors\\.json", GET=(_errors(1), False))
_route("/rest/v1/stats/errors/last7days\\.json", GET=(_errors(7), False))
_route(
    "/rest/asset/v1/staticLists\\.json",
    GET=(lists.browse_lists, False),
    POST=(lists.create_list, False),
)
_route("/rest/asset/v1/staticList/byName\\.json", GET=(lists.static_list_by_name, False))
_route(
    "/rest/asset/v1/staticList/(\\d+)\\.json",
    GET=(lists.get_static_list, False),
    POST=(lists.update_static_list, False),
)
_route(
    "/rest/asset/v1/staticList/(\\d+)/delete\\.json",
    POST=(lists.delete_static_list, False),
)
_route(
    "/rest/asset/v1/folders\\.json",
    GET=(folders.browse_folders, False),
    POST=(folders.create_folder, False),
)
_route("/rest/asset/v1/folder/byName\\.json", GET=(folders.folder_by_name, False))
_route(
    "/rest/asset/v1/folder/(\\d+)\\.json",
    GET=(folders.get_folder, False),
    POST=(folders.update_folder, False),
)
_route("/rest/asset/v1/folder/(\\d+)/content\\.json", GET=(folders.folder_content, False))
_route("/rest/asset/v1/folder/(\\d+)/delete\\.json", POST=(folders.delete_folder, False))
_route("/bulk/v1/leads\\.json", POST=(bulk.create_import, True))
_route("/bulk/v1/leads/batch/(\\d+)\\.json", GET=(bulk.import_status, False))
_route("/bulk/v1/leads/batch/(\\d+)/failures\\.json", GET=(bulk.import_failures, False))
_route("/bulk/v1/leads/batch/(\\d+)/warnings\\.json", GET=(bulk.import_warnings, False))


def resolve(req: Request) -> tuple[Handler, bool, tuple[str, ...]]:
    """(handler, is_write, path groups) for a request. Raises 605 / 610."""
    for pattern, methods in ROUTES:
        match = pattern.match(req.path)
        if match is None:
            continue
        entry = methods.get(req.effective_method)
        if entry is None:
            raise ApiError("605", f"Request method '{req.effective_method}' not supported")
        return entry[0], entry[1], match.groups()
    raise ApiError("610", "Requested resource not found")
