from __future__ import annotations

import importlib
import stat
import subprocess
import sys
from pathlib import Path

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


# issue 16: ``df.marketo`` whatever the order. Each runs in a fresh interpreter, so that no
# earlier import in this test process can make it pass.
_ACCESSOR_CHECK = (
    "df = pd.DataFrame({'email': ['a@example.com']})\n"
    "print(type(df.marketo).__module__, type(df.marketo).__name__)\n"
)


@pytest.mark.parametrize(
    "imports",
    [
        "import paragon_nb\nimport pandas as pd\n",
        "import pandas as pd\nimport paragon_nb\n",
        "from paragon_nb import Project\nfrom pandas import DataFrame\nimport pandas as pd\n",
        "import pandas as pd\nfrom paragon_nb import sync_leads\n",
        "import paragon_nb.marketo\nimport pandas as pd\n",
    ],
    ids=["paragon-then-pandas", "pandas-then-paragon", "from-imports", "pandas-then-from", "sub"],
)
def test_df_marketo_whatever_the_import_order(imports: str) -> None:
    out = _run(imports + _ACCESSOR_CHECK)
    assert out == "paragon_nb.sync.accessor MarketoAccessor"


def test_import_order_leaves_pandas_untouched_and_unhooked() -> None:
    code = (
        "import sys, paragon_nb, importlib.resources\n"
        "assert 'pandas' not in sys.modules\n"
        "hooks = [type(f).__name__ for f in sys.meta_path if 'PostImport' in type(f).__name__]\n"
        "import pandas\n"
        "left = [type(f).__name__ for f in sys.meta_path if 'PostImport' in type(f).__name__]\n"
        "print(hooks, left, type(pandas.__spec__.loader).__name__, "
        "type(pandas.__loader__).__name__, importlib.resources.files('pandas').name)\n"
    )
    # one finder while waiting, none once pandas came; pandas keeps its own loader
    assert _run(code) == "['_PostImportFinder'] [] SourceFileLoader SourceFileLoader pandas"


_KERNEL = """
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

cfg = Config()
cfg.HistoryManager.enabled = False
shell = InteractiveShell.instance(config=cfg)
for cell in CELLS:
    shell.run_cell(cell).raise_error()
print(shell.user_ns["answer"])
"""


@pytest.mark.parametrize(
    "first",
    [
        ["%load_ext paragon_nb", "import pandas as pd"],
        ["import pandas as pd", "%load_ext paragon_nb"],
    ],
    ids=["load-ext-first", "pandas-first"],
)
def test_df_marketo_in_a_headless_ipython_shell(first: list[str]) -> None:
    cells = [
        *first,
        "from paragon_nb.sandbox import SandboxApp\n"
        "df = pd.DataFrame({'email': ['ada@example.com'], 'firstName': ['Ada']})\n"
        "result = df.marketo.sync(SandboxApp().client())\n"
        "answer = list(result.rows['status'])",
    ]
    assert _run(f"CELLS = {cells!r}\n" + _KERNEL) == "['created']"


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_wheel_smoke_script_passes_here_too() -> None:
    """.ci/run runs tests/smoke_wheel.py against the built wheel; here against the checkout,
    so that a change breaking it fails in the suite first."""
    script = Path(__file__).with_name("smoke_wheel.py")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("smoke: ok")
