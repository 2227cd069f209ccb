from __future__ import annotations

import importlib
import stat
import subprocess
import sys

import pytest

import paragon_nb
from paragon_nb import errors
from paragon_nb._clock import FakeClock
from paragon_nb.settings import SecretBox, home, load_or_create_key


def test_all_is_sorted_and_complete() -> None:
    assert paragon_nb.__all__ == sorted(paragon_nb.__all__)
    for name in paragon_nb.__all__:
        assert hasattr(paragon_nb, name), name


def test_errors_all_sorted_and_exported() -> None:
    assert errors.__all__ == sorted(errors.__all__)
    for name in errors.__all__:
        assert hasattr(errors, name)


def test_import_has_no_heavy_side_effects() -> None:
    code = (
        "import sys, paragon_nb; "
        "print(sorted(m for m in ('pandas', 'IPython', 'ipywidgets', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("code", "cls", "retry"),
    [
        ("606", errors.RateLimited, errors.RetryClass.WAIT),
        ("615", errors.ConcurrencyLimited, errors.RetryClass.RETRY),
        ("607", errors.QuotaExceeded, errors.RetryClass.QUOTA),
        ("601", errors.MarketoAuthError, errors.RetryClass.AUTH),
        ("1003", errors.MarketoRequestError, errors.RetryClass.FINAL),
        ("503", errors.TransientMarketoError, errors.RetryClass.RETRY),
        ("413", errors.PayloadTooLarge, errors.RetryClass.FINAL),
    ],
)
def test_code_table(code: str, cls: type, retry: errors.RetryClass) -> None:
    err = errors.marketo_error_for(code, "boom", request_id="a#b")
    assert type(err) is cls
    assert err.code == code and err.request_id == "a#b"
    assert errors.retry_class(code) is retry
    assert str(err) == f"[{code}] boom"


def test_fake_clock_sleep_advances_without_waiting() -> None:
    clock = FakeClock()
    t0 = clock.time()
    clock.sleep(20)
    assert clock.monotonic() == 20 and clock.time() == t0 + 20
    assert clock.sleeps == [20]
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_home_and_secret_key_are_isolated_and_private(isolated_env) -> None:
    assert home() == isolated_env and isolated_env.is_dir()
    key = load_or_create_key(isolated_env)
    mode = stat.S_IMODE((isolated_env / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_key(isolated_env) == key
    box = SecretBox(key)
    token = box.encrypt("s3cret")
    assert "s3cret" not in token and box.decrypt(token) == "s3cret"
    assert "s3cret" not in repr(box) and key.decode() not in repr(box)


def test_bad_secret_key_env_is_a_clear_error(monkeypatch, isolated_env) -> None:
    monkeypatch.setenv("PARAGON_NB_SECRET_KEY", "not-a-key")
    with pytest.raises(errors.ConfigurationError, match="PARAGON_NB_SECRET_KEY"):
        load_or_create_key(isolated_env)


def test_cli_version() -> None:
    cli = importlib.import_module("paragon_nb.cli")
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0


def test_import_registers_df_marketo_when_pandas_is_loaded() -> None:
    code = "import pandas as pd, paragon_nb; print(hasattr(pd.DataFrame({'email': []}), 'marketo'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
