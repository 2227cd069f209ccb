"""MarketoClient: the one way paragon_nb talks to Marketo (real or the local sandbox).

The public contract (sync/, runtime/ and widgets code against it)::

    MarketoClient(endpoint, client_id, client_secret, *, identity=None, transport=None,
                  timeout=30.0, limits=None, retry=None, clock=None, daily_budget=None,
                  token_cache=None)
    MarketoClient.from_env(**kwargs)
    .endpoint .identity .client_id .instance_key .limits .limiter .stats
    .check() / .describe(refresh=False) -> list[LeadField]
    .sync_leads(records, *, action, lookup_field, partition, progress, on_batch_error)
    .iter_leads / .get_leads(filter_type, values, *, fields, batch_size) / .get_lead(id)
    .delete_leads(ids)
    .iter_lists / .get_lists(*, ids, names)        lead-DB lists
    .iter_static_lists(*, folder) / .get_list(id) / .get_list_by_name(name)
    .create_list(name, *, folder, description)     folder: id, {"id","type"}, Folder or path
    .iter_folders / .browse_folders(root, *, max_depth, workspace) -> Folder
    .get_folder(folder) / .find_folders(name, *, root) / .folder_ref(folder)
    .create_folder(name, parent, *, description) / .default_list_folder()
    .add_to_list / .remove_from_list(list_id, lead_ids) -> list[ListMemberResult]
    .is_member(list_id, lead_ids) -> dict[int, bool]
    .iter_list_members / .list_members(list_id, *, fields)
    .import_leads(data, *, format, lookup_field, list_id, partition, wait, poll_interval,
                  timeout) / .import_status(batch_id, *, reports, format)
    .usage(*, last_7_days) / .usage_errors(*, last_7_days)
    .close() / context manager

Where things live: _base.py (construction, fan-out, paging, describe), leads.py, lists.py,
folders.py, imports.py (resources), auth.py (tokens), limits.py, retry.py, batching.py, paging.py,
bulk.py (files), _http.py (the one send path: limits, auth, retries, error translation)::

    client = MarketoClient("https://123-ABC-456.mktorest.com/rest", "id", "secret")
    results = client.sync_leads([{"email": "a@x.com", "firstName": "Ada"}])
"""

from __future__ import annotations

from paragon_nb.marketo.imports import ImportsMixin
from paragon_nb.marketo.leads import LeadsMixin
from paragon_nb.marketo.lists import ListsMixin

__all__ = ["MarketoClient"]


class MarketoClient(LeadsMixin, ListsMixin, ImportsMixin):
    """A thread-safe Marketo REST client that keeps within Marketo's limits.

    ``endpoint`` is the REST base ending in ``/rest`` (as Marketo's admin shows it);
    ``identity`` defaults to the same origin + ``/identity``. ``transport`` is any httpx
    transport (``httpx.WSGITransport(app=sandbox_app)`` in tests). ``clock`` is injected
    everywhere time is read or slept. The client secret and access tokens never appear in
    reprs, logs or error messages.

    Limits: ``limits`` (a :class:`~paragon_nb.marketo.limits.Limits`) bounds calls per
    window, calls in flight and an optional daily budget (``daily_budget=`` overrides the
    one in ``limits``). ``retry`` (a :class:`~paragon_nb.marketo.retry.RetryPolicy`) bounds
    retries. ``timeout`` cannot be disabled. ``token_cache`` shares tokens between clients
    of one instance. Failure modes: the ``paragon_nb.errors`` Marketo tree (never httpx).
    """
