"""The Dask executor's checks as it connects: is anything listening at the address, and do
the client's and the cluster's versions agree (distributed's own check, on one line)."""

from __future__ import annotations

import socket
from typing import Any

from thrifty_tui.core.errors import DataError


class ClusterError(DataError):
    """The cluster cannot be used (unreachable, versions, no workers, gone): one line."""


def version_problem(client: Any) -> tuple[str | None, str | None]:
    """(refusal, warning) from distributed's version check, each on one line or None."""
    from distributed.versions import error_message

    versions = client.get_versions()
    msg = error_message(versions["scheduler"], versions["workers"], versions["client"])

    def rows(text: str) -> str:
        out = []
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 4 and line.startswith("|") and cells[0] != "Package":
                out.append(f"{cells[0]} {cells[1]} here, {cells[2]} on the scheduler, "
                           f"{cells[3]} on the workers")
        return "; ".join(out)

    refusal = rows(msg["error"]) if msg["error"] else None
    warning = rows(msg["warning"]) if msg["warning"] else None
    return refusal or None, warning or None


def listening(address: str, timeout: float) -> None:
    """ClusterError at once when nothing listens at ``address`` (Dask's client would retry a
    refused connection until its timeout)."""
    host, _, port = address.partition("://")[2].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except ConnectionRefusedError:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: nothing listens "
                           "there (is `dask scheduler` running, and is the address right?)"
                           ) from None
    except OSError:
        pass  # a timeout or a name that does not resolve: the client's attempt says it
