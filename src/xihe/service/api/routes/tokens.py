"""``/api/v1/tokens``: the caller's API tokens: create (the secret shown once), list, revoke."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from xihe.service.api.deps import DatabaseDep, UserDep
from xihe.service.clock import utcnow
from xihe.service.problems import not_found, problem_responses
from xihe.service.repositories import users
from xihe.service.schemas import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=problem_responses(400, 401, 404, 422, 429))


@router.post("", status_code=201, response_model=TokenCreated, operation_id="create_token")
def create(body: TokenCreate, user: UserDep, database: DatabaseDep) -> TokenCreated:
    """A new token for the caller; the secret appears only in this response (the server keeps its SHA-256)."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    with database.write() as session:
        issued = users.create_token(session, user, name=body.name, expires_at=expires)
        public = TokenPublic.model_validate(issued.row, from_attributes=True)
    return TokenCreated(**public.model_dump(), token=issued.secret)


@router.get("", response_model=list[TokenPublic], operation_id="list_tokens")
def list_(user: UserDep, database: DatabaseDep) -> list[TokenPublic]:
    with database.read() as session:
        return [TokenPublic.model_validate(row, from_attributes=True) for row in users.list_tokens(session, user.id)]


@router.delete("/{token_id}", status_code=204, operation_id="revoke_token")
def revoke(token_id: str, user: UserDep, database: DatabaseDep) -> Response:
    """Revoke one of the caller's tokens (at once: the next request with it gets 401)."""
    with database.write() as session:
        if not users.revoke_token(session, user.id, token_id):
            raise not_found("token", token_id)
    return Response(status_code=204)
