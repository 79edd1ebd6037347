"""Request and response models of the logout endpoint (``logout.py``)."""

from __future__ import annotations

from pydantic import StrictBool

from web.api.schemas import Strict


class LogoutIn(Strict):
    #: Also end every other token of the account (every device).
    everywhere: StrictBool = False
