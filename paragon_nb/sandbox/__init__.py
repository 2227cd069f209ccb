"""A faithful local Marketo: WSGI app + state store + threaded loopback server.

from paragon_nb.sandbox import MarketoSandbox, SandboxApp, Fault
app = SandboxApp(faults=[Fault(route="leads", sequence=("606", None))])   # in-process
with MarketoSandbox(latency=0.1) as sandbox:                              # on 127.0.0.1
    print(sandbox.endpoint)
"""

from paragon_nb.sandbox.app import SandboxApp
from paragon_nb.sandbox.faults import Fault, parse_fault
from paragon_nb.sandbox.limits import SandboxStats
from paragon_nb.sandbox.server import (
    MarketoSandbox,
    default_sandbox,
    read_sandbox_info,
    run_cli,
)

__all__ = [
    "Fault",
    "MarketoSandbox",
    "SandboxApp",
    "SandboxStats",
    "default_sandbox",
    "parse_fault",
    "read_sandbox_info",
    "run_cli",
]
