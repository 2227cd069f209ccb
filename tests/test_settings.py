"""settings: the at-rest key file under concurrent first use."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from paragon_nb.settings import KEY_FILE_NAME, load_or_create_key


def _first_use_by(callers: int, folder: Path) -> tuple[list[bytes], list[BaseException]]:
    barrier = threading.Barrier(callers)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        barrier.wait()
        try:
            keys.append(load_or_create_key(folder))
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, errors


def test_racing_first_use_agrees_on_one_complete_key(tmp_path: Path) -> None:
    # A notebook and `paragon-nb serve` may open a fresh folder at the same moment: every
    # caller must get the same valid key, never read a key file that is not written yet.
    for round_no in range(60):
        folder = tmp_path / str(round_no)
        keys, errors = _first_use_by(8, folder)
        assert errors == []
        assert len(keys) == 8 and len(set(keys)) == 1
        key_file = folder / KEY_FILE_NAME
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert sorted(p.name for p in folder.iterdir()) == [KEY_FILE_NAME]
