"""The visual composer page and its JSON helper ``POST /composer/state`` (the grid's operations and the live ideal
probabilities of the program, from :mod:`xihe.web.composer`). Submitting goes through the editor's own
``POST /editor/submit``, so a composed circuit is checked and queued exactly as a typed one.

The helper runs the engine in the web process, so it is bounded (12 qubits, 500 operations) and rate limited by
the user's API bucket (:func:`xihe.service.api.deps.rate_limit`: one rule for every protocol).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from xihe.service.api.deps import rate_limit
from xihe.service.limits import input_limits
from xihe.service.problems import Problem
from xihe.service.repositories import users
from xihe.web.composer import GRID_GATES, MAX_QUBITS, composer_state
from xihe.web.deps import JsonUser, PageUser, catalog, database, render
from xihe.web.sessions import csrf_matches

router = APIRouter(include_in_schema=False)

START = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'


class StateRequest(BaseModel):
    qasm: str = Field(max_length=200_000)


@router.get("/composer")
def composer_page(request: Request, user: PageUser) -> Response:
    context = {"nav": "composer", "start": START, "gates": GRID_GATES, "max_qubits": MAX_QUBITS,
               "backends": catalog(request).names()}
    return render(request, "composer.html", context, user=user)


@router.post("/composer/state")
def composer_state_json(request: Request, body: StateRequest, user: JsonUser,
                        x_csrf_token: Annotated[str | None, Header()] = None) -> Response:
    if not csrf_matches(user.csrf, x_csrf_token):
        return JSONResponse({"detail": "missing or stale CSRF token; reload the page"}, status_code=403)
    with database(request).read() as session:
        account = users.get_user(session, user.id)
    if account is None:
        return JSONResponse({"detail": "no such user"}, status_code=401)
    try:
        rate_limit(request, account)
    except Problem as problem:
        return JSONResponse({"detail": problem.detail}, status_code=problem.status, headers=problem.headers)
    state = composer_state(body.qasm, input_limits(request.app.state.settings, user=account))
    return JSONResponse(state, headers={"Cache-Control": "no-store"})
