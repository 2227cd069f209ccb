"""ipywidgets forms: Connect Portal, list picker, sync form (models apart from views).

from paragon_nb.widgets import ConnectPortal, SyncForm
ConnectPortal(project, user_id="user-1")     # or Paragon(project).connect("marketo")
SyncForm(client)                             # DataFrames of the notebook -> Marketo
"""

from paragon_nb.widgets.connect_portal import ConnectPortal, ConnectPortalModel
from paragon_nb.widgets.list_picker import ListPicker, ListPickerModel
from paragon_nb.widgets.sync_form import SyncForm, SyncFormModel
from paragon_nb.widgets.workflow_panel import WorkflowPanel

__all__ = [
    "ConnectPortal",
    "ConnectPortalModel",
    "ListPicker",
    "ListPickerModel",
    "SyncForm",
    "SyncFormModel",
    "WorkflowPanel",
]
