"""The Connect Portal bridge of the SDK mirror: ``Paragon.connect(integration)`` finds the
portal a skin registered for that integration type (the ``paragon_nb.portals`` entry-point
group; ``paragon_nb.widgets`` registers Marketo's, so the runtime never imports a skin by
name), builds it for the signed-in user and relays the portal's events to the JS SDK's
callbacks and the SDK's subscribers.

    portal = open_portal(project, "marketo", user_id="user-1", options={"on_install": cb},
                         refresh=paragon.refresh_user, emit=listeners.emit)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from paragon_nb.runtime.sdk_events import SdkEvent, callbacks_from_options

__all__ = ["PORTAL_GROUP", "open_portal", "portal_class"]

#: The entry-point group through which a skin offers the Connect Portal of an integration
#: type (``marketo = "paragon_nb.widgets.connect_portal:ConnectPortal"`` in pyproject.toml).
PORTAL_GROUP = "paragon_nb.portals"


def portal_class(integration: str) -> Any:
    """The Connect Portal class registered for ``integration`` (None if none is installed)."""
    for entry in entry_points(group=PORTAL_GROUP, name=integration):
        return entry.load()
    return None


def open_portal(
    project: Any,
    integration: str,
    *,
    user_id: str,
    options: dict[str, Any],
    refresh: Callable[[], Any],
    emit: Callable[[SdkEvent, dict[str, Any], dict[str, Any]], None],
) -> Any:
    """The registered portal of ``integration`` for ``user_id`` in the local ``project``.

    ``options``: the portal's own (``credentials=``) and the JS SDK's callbacks by Python or
    JS name; each callback gets ``(payload, user)``. On every portal event ``refresh()``
    runs first when the user's connection changed, then the callback, then ``emit``.
    NotImplementedError when no portal is registered (or there is no local project)."""
    portal = portal_class(integration) if project is not None else None
    if portal is None:
        raise NotImplementedError(
            "the Connect Portal widget needs a local project (Paragon(project)) and "
            f"paragon_nb's widgets installed (entry point group {PORTAL_GROUP!r}); over "
            "base_url use install_integration() and enable_workflow() instead"
        )
    callbacks, rest = callbacks_from_options(options)

    def on_event(event: SdkEvent, payload: dict[str, Any], user: dict[str, Any]) -> None:
        if event in (SdkEvent.INTEGRATION_INSTALL, SdkEvent.INTEGRATION_UNINSTALL):
            refresh()  # the portal changed the user: keep get_user() current
        callback = callbacks.get(event)
        if callback is not None:
            callback(dict(payload), dict(user))
        emit(event, payload, user)

    return portal(project, user_id=user_id, on_event=on_event, **rest)
