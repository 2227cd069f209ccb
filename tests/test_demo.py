from __future__ import annotations

from paragon_nb.demo import LEADS, main, run_demo
from paragon_nb.sandbox.app import SandboxApp


def test_demo_syncs_the_valid_leads_into_the_list() -> None:
    app = SandboxApp()
    lines: list[str] = []
    with app.client() as client:
        members = run_demo(client, out=lines.append)
    valid = [lead["email"] for lead in LEADS if "@" in lead["email"]]
    assert members == len(valid)
    assert sorted(lead["email"] for lead in app.leads()) == sorted(valid)
    assert any("1003" in line and "not-an-email" in line for line in lines)
    # the client secret never reaches the output
    assert not any(app.client_secret in line for line in lines)


def test_demo_main_runs_over_a_real_socket(capsys) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "now has 3 members" in out
