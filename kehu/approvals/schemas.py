"""API shapes of the approval engine."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

DecisionT = Literal["approve", "reject", "return"]
StepKindT = Literal["role_in_line", "users", "line_managers", "meeting"]
RequestStatusT = Literal["pending", "approved", "rejected", "returned", "cancelled"]


class UserRef(Schema):
    id: int
    username: str
    display_name: str


class RequestOut(Schema):
    id: int
    chain: str
    chain_name: str
    title: str
    status: RequestStatusT
    current_step: int
    round: int
    requester: UserRef
    target_type: str
    target_id: str
    payload: dict
    created_at: dt.datetime
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_chain(obj):
        return obj.chain.code

    @staticmethod
    def resolve_chain_name(obj):
        return obj.chain.name

    @staticmethod
    def resolve_target_type(obj):
        return obj.target_label

    @staticmethod
    def resolve_target_id(obj):
        return obj.object_id


class TaskOut(Schema):
    id: int
    step: int
    mode: str
    round: int
    assignee: UserRef
    delegated_from: UserRef | None = None
    status: str
    comment: str
    created_at: dt.datetime
    acted_at: dt.datetime | None
    reminded_at: dt.datetime | None

    @staticmethod
    def resolve_step(obj):
        return obj.step_order

    @staticmethod
    def resolve_mode(obj):
        return obj.step_mode


class InboxItem(TaskOut):
    request: RequestOut


class EventOut(Schema):
    at: dt.datetime
    actor: str = Field(..., description="The actor's display name")
    on_behalf_of: UserRef | None = None
    action: str
    round: int
    step: int | None = None
    comment: str

    @staticmethod
    def resolve_actor(obj):
        return str(obj.actor) if obj.actor_id else obj.actor_name

    @staticmethod
    def resolve_step(obj):
        return obj.step_order


class StepOut(Schema):
    order: int
    name: str
    kind: StepKindT
    role: str
    mode: Literal["any", "all"]
    users: list[int] = []

    @staticmethod
    def resolve_users(obj):
        return [u.pk for u in obj.users.all()]


class MeetingOut(Schema):
    round: int
    step: int
    held_on: dt.date
    participants: list[UserRef]
    minutes: str
    decision: DecisionT
    recorded_by: UserRef
    recorded_at: dt.datetime

    @staticmethod
    def resolve_step(obj):
        return obj.step_order

    @staticmethod
    def resolve_participants(obj):
        return list(obj.participants.all())


class RequestDetail(RequestOut):
    steps: list[StepOut]
    tasks: list[TaskOut]
    history: list[EventOut]
    meetings: list[MeetingOut]

    @staticmethod
    def resolve_meetings(obj):
        return list(obj.meetings.all())

    @staticmethod
    def resolve_steps(obj):
        return list(obj.chain.steps.all())

    @staticmethod
    def resolve_tasks(obj):
        return list(obj.tasks.all())

    @staticmethod
    def resolve_history(obj):
        return list(obj.events.all())


class RequestPage(Schema):
    items: list[RequestOut]
    next: str | None


class InboxPage(Schema):
    items: list[InboxItem]
    next: str | None


class DecideIn(Schema):
    decision: DecisionT
    comment: str = Field("", max_length=2000)


class MeetingIn(Schema):
    held_on: dt.date
    participants: list[int] = Field(..., min_length=1, max_length=100)
    minutes: str = Field(..., min_length=1, max_length=20000)
    decision: DecisionT


class CommentIn(Schema):
    comment: str = Field("", max_length=2000)


class DelegationIn(Schema):
    delegate: int = Field(..., ge=1, le=2**62)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime
    reason: str = Field("", max_length=200)


class DelegationOut(Schema):
    id: int
    delegator: UserRef
    delegate: UserRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


class StepIn(Schema):
    kind: StepKindT
    role: str = Field("", max_length=32)
    users: list[int] = Field([], max_length=100)
    mode: Literal["any", "all"] = "any"
    name: str = Field("", max_length=100)


class ChainIn(Schema):
    code: str = Field(..., min_length=1, max_length=100)
    name: str = Field(..., min_length=1, max_length=200)
    active: bool = True
    steps: list[StepIn] = Field(..., min_length=1, max_length=20)


class ChainOut(Schema):
    id: int
    code: str
    name: str
    active: bool
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj):
        return list(obj.steps.all())
