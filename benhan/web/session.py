"""The logged-in user of a web request, for pages and the OAuth consent screen."""
from __future__ import annotations

from starlette.requests import Request

from benhan.auth.users import User
from benhan.web import authn


def session_user(request: Request) -> User | None:
    """The user of a fully established session (password and, where required, MFA done), or None."""
    session = authn.session(request)
    if session is None or not session.mfa_passed or "actor" not in request.state._state:
        return None
    return session.user
