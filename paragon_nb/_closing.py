"""``with thing:`` for the objects that hold a resource until ``close()``.

:class:`ClosesOnExit` is the one implementation of the context-manager protocol for them
(a client's connection pool, a project's database, the SDK's HTTP client): ``__enter__``
returns the object itself and ``__exit__`` calls its ``close()``, whatever ended the block.

    class Client(ClosesOnExit):
        def close(self) -> None: ...

    with Client() as client:    # closed at the end of the block
        ...
"""

from __future__ import annotations

from typing import Self

__all__ = ["ClosesOnExit"]


class ClosesOnExit:
    """A mixin: ``with obj:`` yields ``obj`` and calls ``obj.close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
