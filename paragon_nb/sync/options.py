"""``SyncOptions``: every option of one sync, said once, frozen, passed whole.

``sync_leads(df, client, **keywords)`` builds one and hands it to the planner, the sender,
the Bulk Import path and the dry run; ``SyncResult.retry()`` reruns the failed rows with
``dataclasses.replace(options, ...)``, so no option can be dropped on the way.

    opts = SyncOptions(list="Newsletter", create_list=True)
    opts.check()                                  # ConfigurationError naming the bad value
    replace(opts, dry_run=True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from paragon_nb.errors import ConfigurationError
from paragon_nb.marketo.models import SyncAction

if TYPE_CHECKING:  # pragma: no cover
    from paragon_nb._clock import Clock
    from paragon_nb.sync.journal import Journal

__all__ = ["DEFAULT_BULK_THRESHOLD", "DEFAULT_CHUNK_SIZE", "SyncOptions"]

DEFAULT_BULK_THRESHOLD = 250_000
DEFAULT_CHUNK_SIZE = 100_000
METHODS = ("auto", "rest", "bulk")


@dataclass(frozen=True)
class SyncOptions:
    """The keyword arguments of :func:`paragon_nb.sync_leads` (see its docstring)."""

    list: str | int | None = None
    create_list: bool = False
    lookup_field: str = "email"
    mapping: Mapping[str, str] | None = None
    ignore: tuple[str, ...] = ()
    action: str = "createOrUpdate"
    dry_run: bool = False
    method: str = "auto"
    progress: bool | None = None
    on_duplicate: str = "skip"
    clear_missing: bool = False
    mirror: bool = False
    confirm: bool = False
    mirror_threshold: int = 100
    partition: str | None = None
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD
    workers: int | None = None
    journal: Journal | str | Path | bool | None = None
    full_resync: bool = False
    fill_ids: bool = True
    chunk_size: int = DEFAULT_CHUNK_SIZE
    report: str | Path | None = None
    clock: Clock | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Frozen means frozen: a caller's dict or list cannot change the options later.
        if self.mapping is not None:
            object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))
        if not isinstance(self.ignore, tuple):
            ignore: Iterable[str] = self.ignore
            object.__setattr__(self, "ignore", tuple(ignore))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names (= ``sync_leads`` keywords)."""
        return tuple(f.name for f in fields(cls))

    def check(self) -> None:
        """Raise ``ConfigurationError`` naming the first bad value and the valid ones."""
        valid_actions = [a.value for a in SyncAction]
        if self.action not in valid_actions:
            raise ConfigurationError(f"action {self.action!r} is not one of {valid_actions}")
        if self.method not in METHODS:
            raise ConfigurationError(f"method {self.method!r} is not one of {list(METHODS)}")
        if self.method == "bulk" and self.action != SyncAction.CREATE_OR_UPDATE.value:
            raise ConfigurationError(
                f"method='bulk' imports with createOrUpdate semantics only, not {self.action!r}; "
                "use method='rest' for other actions"
            )
        if self.method == "bulk" and self.clear_missing:
            raise ConfigurationError(
                "clear_missing=True cannot be honoured by method='bulk': a Bulk Import leaves "
                "blank cells unchanged and cannot send null; use method='rest' to clear fields"
            )
        if self.on_duplicate not in ("skip", "raise"):
            raise ConfigurationError(
                f"on_duplicate must be 'skip' or 'raise', not {self.on_duplicate!r}"
            )
        if int(self.chunk_size) < 1:
            raise ConfigurationError(f"chunk_size must be >= 1 row, not {self.chunk_size!r}")

    def as_kwargs(self) -> dict[str, Any]:
        """The options as ``sync_leads`` keywords."""
        return {name: getattr(self, name) for name in self.names()}
