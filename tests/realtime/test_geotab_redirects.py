"""MyGeotab's Authenticate may name another server for the database; the feed follows it only
within the configured server's domain, since the password goes there on the next login."""

from __future__ import annotations

import pytest

from realtime.geotab.rpc import UntrustedRedirect, redirect_endpoint

MY = "https://my.geotab.com/apiv1"


@pytest.mark.parametrize(("path", "endpoint"), [
    ("ThisServer", MY),
    ("", MY),
    ("my3.geotab.com", "https://my3.geotab.com/apiv1"),
    ("https://my501.geotab.com", "https://my501.geotab.com/apiv1"),
    ("MY4.GEOTAB.COM", "https://MY4.GEOTAB.COM/apiv1"),
])
def test_a_server_of_the_same_domain_is_followed(path: str, endpoint: str) -> None:
    assert redirect_endpoint(MY, path) == endpoint


@pytest.mark.parametrize("path", [
    "attacker.example", "geotab.com.attacker.example", "evilgeotab.com", "my.geotab.co",
    "https://attacker.example/apiv1", "user@attacker.example", "10.0.0.5", "my3.geotab.com/x",
])
def test_a_server_elsewhere_is_refused(path: str) -> None:
    with pytest.raises(UntrustedRedirect):
        redirect_endpoint(MY, path)


def test_a_local_server_may_only_name_itself() -> None:
    local = "http://127.0.0.1:8123/apiv1"
    assert redirect_endpoint(local, "127.0.0.1:9000") == "http://127.0.0.1:9000/apiv1"
    with pytest.raises(UntrustedRedirect):
        redirect_endpoint(local, "127.0.0.2:9000")
    with pytest.raises(UntrustedRedirect):
        redirect_endpoint(local, "example.com")
