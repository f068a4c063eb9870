"""API tokens have one shape every client accepts (quafu-sdk's ``qf_`` + base62), and older tokens still work."""

from __future__ import annotations

import re
import secrets

from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.models import ApiToken
from xihe.service.repositories import users
from xihe.service.security import hash_token, new_token

QUAFU_SDK_SHAPE = re.compile(r"qf_[0-9A-Za-z]+")  # quafu-sdk 0.2.7 credentials.py: checked before any request


def test_new_tokens_have_the_quafu_sdk_shape_and_256_bits() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(QUAFU_SDK_SHAPE.fullmatch(token) and len(token) == 46 for token in tokens)


def test_issued_token_authenticates(database: Database) -> None:
    with database.write() as session:
        user = users.create_user(session, "shape")
        issued = users.create_token(session, user)
    assert QUAFU_SDK_SHAPE.fullmatch(issued.secret)
    with database.read() as session:
        found = users.authenticate_token(session, issued.secret)
    assert found is not None and found[0].name == "shape"


def test_token_of_the_old_shape_stays_valid(database: Database) -> None:
    old = "xh_" + secrets.token_urlsafe(32)  # what Xihe issued before the qf_ shape
    with database.write() as session:
        user = users.create_user(session, "old-token")
        session.add(ApiToken(id=secrets.token_hex(8), user_id=user.id, token_hash=hash_token(old), prefix=old[:7],
                             name="", kind="user", created_at=utcnow(), expires_at=None))
    with database.read() as session:
        found = users.authenticate_token(session, old)
    assert found is not None and found[0].name == "old-token"
