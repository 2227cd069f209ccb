"""The SDK's events (reference §2.3): ``subscribe`` names, ``connect()`` callback names and
their payloads, shared by :class:`~paragon_nb.runtime.sdk.Paragon` and the Connect Portal.

=========================  =====================================  ==========================
subscribe name             connect() callback (Python / JS name)  payload
=========================  =====================================  ==========================
onIntegrationInstall       on_install / onInstall (or on_success) {integrationId,
                                                                   integrationType,
                                                                   credentialId}
onIntegrationUninstall     on_uninstall / onUninstall             the same shape
onWorkflowChange           on_workflow_change / onWorkflowChange  {integrationId, workflowId,
                                                                   workflowStateChange}
onPortalOpen / Close       on_open / on_close                     {integrationId,
                                                                   integrationType}
=========================  =====================================  ==========================

Every listener gets ``(payload, user)`` (the user's state, as the browser SDK passes it).
Subscriptions apply to every integration; connect() callbacks to that portal only. A
listener's exception is not caught: it is the caller's code.

    listeners = Listeners()
    off = listeners.subscribe("onWorkflowChange", lambda event, user: print(event))
    listeners.emit(SdkEvent.WORKFLOW_CHANGE, {...}, user); off()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from paragon_nb.errors import did_you_mean

__all__ = ["Listener", "Listeners", "SdkEvent", "callbacks_from_options"]

Listener = Callable[[dict[str, Any], dict[str, Any]], Any]


class SdkEvent(StrEnum):
    INTEGRATION_INSTALL = "onIntegrationInstall"
    INTEGRATION_UNINSTALL = "onIntegrationUninstall"
    WORKFLOW_CHANGE = "onWorkflowChange"
    PORTAL_OPEN = "onPortalOpen"
    PORTAL_CLOSE = "onPortalClose"


#: connect() option names -> the event they listen to (Python and the JS SDK's names).
#: ``onInstall``, when given, is called *instead of* ``onSuccess`` (as the JS SDK does).
_CALLBACKS: dict[str, SdkEvent] = {
    "on_success": SdkEvent.INTEGRATION_INSTALL,
    "onSuccess": SdkEvent.INTEGRATION_INSTALL,
    "on_install": SdkEvent.INTEGRATION_INSTALL,
    "onInstall": SdkEvent.INTEGRATION_INSTALL,
    "on_uninstall": SdkEvent.INTEGRATION_UNINSTALL,
    "onUninstall": SdkEvent.INTEGRATION_UNINSTALL,
    "on_workflow_change": SdkEvent.WORKFLOW_CHANGE,
    "onWorkflowChange": SdkEvent.WORKFLOW_CHANGE,
    "on_open": SdkEvent.PORTAL_OPEN,
    "onOpen": SdkEvent.PORTAL_OPEN,
    "on_close": SdkEvent.PORTAL_CLOSE,
    "onClose": SdkEvent.PORTAL_CLOSE,
}
_SUCCESS = ("on_success", "onSuccess")


def event_of(name: str) -> SdkEvent:
    """The SdkEvent called ``name`` (ValueError naming the known ones, with a did-you-mean)."""
    try:
        return SdkEvent(name)
    except ValueError:
        known = [e.value for e in SdkEvent]
        raise ValueError(
            f"unknown SDK event {name!r}; events: {', '.join(known)}" + did_you_mean(name, known)
        ) from None


def callbacks_from_options(options: Mapping[str, Any]) -> tuple[dict[SdkEvent, Listener], dict]:
    """Split connect() options into ``({event: callback}, the other options)``."""
    callbacks: dict[SdkEvent, Listener] = {}
    success: Listener | None = None
    rest = {}
    for name, value in options.items():
        event = _CALLBACKS.get(name)
        if event is None:
            rest[name] = value
            continue
        if value is None:
            continue
        if not callable(value):
            raise TypeError(f"connect option {name!r} must be a function, got {value!r}")
        if name in _SUCCESS:
            success = value
        else:
            callbacks[event] = value
    if success is not None:
        callbacks.setdefault(SdkEvent.INTEGRATION_INSTALL, success)  # onInstall wins
    return callbacks, rest


class Listeners:
    """Subscribers per event (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_event: dict[SdkEvent, list[Listener]] = {e: [] for e in SdkEvent}

    def subscribe(self, event: str, listener: Listener) -> Callable[[], bool]:
        """Add ``listener``; returns the function that removes it (True if it was there)."""
        which = event_of(event)
        if not callable(listener):
            raise TypeError(f"subscribe({event!r}, ...) needs a function, got {listener!r}")
        with self._lock:
            self._by_event[which].append(listener)
        return lambda: self.unsubscribe(which, listener)

    def unsubscribe(self, event: str, listener: Listener) -> bool:
        which = event_of(event)
        with self._lock:
            try:
                self._by_event[which].remove(listener)
            except ValueError:
                return False
            return True

    def emit(self, event: SdkEvent, payload: dict[str, Any], user: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._by_event[event])
        for listener in listeners:
            listener(dict(payload), dict(user))
