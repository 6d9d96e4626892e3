from __future__ import annotations

import datetime as dt

from ninja import Field, Router, Schema, Status

from kehu.access import selectors, services
from kehu.pagination import paginate

router = Router(tags=["access"])


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)
    name: str = Field("api", max_length=100)


class TokenOut(Schema):
    id: int
    token: str
    name: str
    expires_at: dt.datetime


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    user: int = Field(..., alias="user_id")


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    department: int | None = Field(None, alias="department_id")
    department_name: str | None = None
    is_active: bool

    @staticmethod
    def resolve_department_name(obj):
        return obj.department.full_name() if obj.department_id else None


class UserIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., max_length=256)
    role: str
    department: str = Field(..., description='Path such as "总部/销售部/华东区"')
    display_name: str = ""
    email: str = ""


class PasswordChangeIn(Schema):
    old_password: str = Field(..., max_length=256)
    new_password: str = Field(..., max_length=256)


class PasswordResetIn(Schema):
    temporary_password: str = Field("", max_length=256, description="Empty: one is generated")


class PasswordResetOut(Schema):
    user: int
    temporary_password: str
    must_change_password: bool


class UserPage(Schema):
    items: list[UserOut]
    next: str | None


@router.post("/auth/token", auth=None, response={201: TokenOut},
             summary="Exchange username and password for a token",
             description="Throttled per client IP and per account (429 with Retry-After). The token expires "
                         "after KEHU_TOKEN_TTL_DAYS; asking again with the name of a live token replaces it.")
def token_issue(request, payload: TokenIn):
    user = services.login_check(request=request, username=payload.username, password=payload.password)
    token, key = services.token_create(actor=user, name=payload.name)
    return Status(201, {"id": token.pk, "token": key, "name": token.name, "expires_at": token.expires_at})


@router.get("/auth/tokens", response=list[TokenInfo], summary="My API tokens")
def token_list(request):
    return list(selectors.token_list(actor=request.user))


@router.delete("/auth/tokens/{token_id}", response={204: None}, summary="Revoke a token")
def token_revoke(request, token_id: int):
    services.token_revoke(actor=request.user, token_id=token_id)
    return Status(204, None)


@router.get("/users", response=UserPage, summary="Users (administrators)")
def user_list(request, limit: int | None = None, cursor: str | None = None):
    page = paginate(selectors.user_list(actor=request.user), ordering="id", allowed={"id": int},
                    limit=limit, cursor=cursor)
    return {"items": page.items, "next": page.next}


@router.post("/users", response={201: UserOut}, summary="Create a user (administrators)")
def user_create(request, payload: UserIn):
    user = services.user_create(actor=request.user, username=payload.username, password=payload.password,
                                role=payload.role, department_path=payload.department,
                                display_name=payload.display_name, email=payload.email)
    return Status(201, user)


@router.post("/auth/password", response={204: None}, summary="Change my password (current one required)")
def password_change(request, payload: PasswordChangeIn):
    services.password_change(actor=request.user, old_password=payload.old_password,
                             new_password=payload.new_password)
    return Status(204, None)


@router.post("/users/{user_id}/password-reset", response=PasswordResetOut,
             summary="Set a temporary password that must be changed at next login (administrators)")
def password_reset(request, user_id: int, payload: PasswordResetIn):
    user, temporary = services.password_reset(actor=request.user, user_id=user_id,
                                              temporary_password=payload.temporary_password)
    return {"user": user.pk, "temporary_password": temporary, "must_change_password": True}


@router.get("/users/{user_id}/tokens", response=list[TokenInfo], summary="A user's API tokens (administrators)")
def user_token_list(request, user_id: int):
    _user, tokens = selectors.token_list_of_user(actor=request.user, user_id=user_id)
    return list(tokens)


@router.post("/users/{user_id}/deactivate", response=UserOut,
             summary="Deactivate a user: their sessions and tokens end at once (administrators)")
def user_deactivate(request, user_id: int):
    return services.user_deactivate(actor=request.user, user_id=user_id)


@router.post("/users/{user_id}/reactivate", response=UserOut, summary="Let a deactivated user log in again (administrators)")
def user_reactivate(request, user_id: int):
    return services.user_reactivate(actor=request.user, user_id=user_id)
