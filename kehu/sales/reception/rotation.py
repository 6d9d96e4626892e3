"""The reception rotation (排班轮流接待), ORM-free: who receives the next walk-in.

The rules (seed 004 第12篇 3、4、5 and 第14篇 (二)):

- reps on duty receive new walk-ins in the roster's order, round and round (滚动循环式), and the
  rotation carries over from one day to the next (the first rep of a day is the one after the last
  rep served the day before);
- a rep whose turn comes while absent without reason loses the turn (取消本轮接客资格), no make-up;
- a rep whose turn comes while out on a duty assigned by a leader (上级领导临时安排额外工作, 因公事外出)
  is skipped and owed one make-up turn per skipped turn (空几轮，补接几名新客户); once back, make-ups
  are served before the rotation (安排当前位置优先轮值), oldest first;
- a designated reception (the customer asks for a rep on arrival) and a returning customer received by
  their registered rep are not counted: the rotation does not move (不计入排班);
- a returning customer whose rep is not there is received as a courtesy (义务接待) by the present rep
  who comes last in the rotation; not counted either;
- a customer who refuses the rep mid-visit (中途拒绝) and whom the manager hands to another rep: the
  visit is void for the refused rep (作轮空处理), who is owed a priority make-up, and the customer goes
  to the next rep in the rotation as a new customer (counted).

``Queue`` is one day's state; every function returns a new queue and never mutates its argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PRESENT = "present"  # at the desk, takes turns
ABSENT = "absent"  # not at the desk without a reason: loses the turn
OUT = "out"  # out on a duty assigned by a leader: skipped turns are made up
STATUSES = (PRESENT, ABSENT, OUT)

ROTATION = "rotation"  # the rep's turn in the rotation (counted)
MAKEUP = "makeup"  # a make-up turn (counted)


class NoRepAvailable(Exception):
    """Nobody on duty is at the desk."""


@dataclass(frozen=True)
class Queue:
    order: tuple[int, ...]  # reps on duty, in the roster's order
    last: int | None = None  # the rep served last by the rotation (not by a make-up)
    status: dict[int, str] = field(default_factory=dict)  # rep → status (missing: present)
    makeups: tuple[int, ...] = ()  # make-up turns owed, oldest first (a rep appears once per turn owed)

    def status_of(self, rep: int) -> str:
        return self.status.get(rep, PRESENT)

    def present(self, rep: int) -> bool:
        return rep in self.order and self.status_of(rep) == PRESENT


@dataclass(frozen=True)
class Turn:
    rep: int
    kind: str  # ROTATION | MAKEUP
    lost: tuple[int, ...] = ()  # absent reps who lost their turn on the way
    owed: tuple[int, ...] = ()  # reps out on duty skipped on the way (a make-up each)


def _cycle_from(order: tuple[int, ...], last: int | None) -> list[int]:
    """The order starting with the rep after ``last`` (the whole order from the top if last is not in it)."""
    if last is None or last not in order:
        return list(order)
    i = order.index(last) + 1
    return list(order[i:]) + list(order[:i])


def new_day(order: list[int] | tuple[int, ...], *, previous_order: tuple[int, ...] = (),
            previous_last: int | None = None) -> Queue:
    """Today's queue: the roster's order, continuing the rotation after yesterday's last rep served.

    When yesterday's last rep is not on duty today, the rotation resumes with the first of yesterday's
    following reps who is; make-ups do not carry over to another day."""
    order = tuple(dict.fromkeys(order))
    last = None
    if previous_last is not None and order:
        if previous_last in order:
            last = previous_last
        elif previous_last in previous_order:
            for rep in _cycle_from(tuple(previous_order), previous_last):
                if rep in order:
                    # resume with ``rep``: pretend the rep before it in today's order was served last
                    last = order[order.index(rep) - 1]
                    break
    return Queue(order=order, last=last)


def set_status(queue: Queue, rep: int, status: str) -> Queue:
    if status not in STATUSES:
        raise ValueError(status)
    if rep not in queue.order:
        raise KeyError(rep)
    st = dict(queue.status)
    if status == PRESENT:
        st.pop(rep, None)
    else:
        st[rep] = status
    return replace(queue, status=st)


def next_turn(queue: Queue, *, exclude: frozenset[int] | set[int] = frozenset()) -> tuple[Turn, Queue]:
    """The next counted turn: a make-up owed to a present rep first, else the rotation. Raises
    NoRepAvailable when nobody on duty is present (the queue is then unchanged)."""
    for i, rep in enumerate(queue.makeups):
        if queue.present(rep) and rep not in exclude:
            return Turn(rep=rep, kind=MAKEUP), replace(queue, makeups=queue.makeups[:i] + queue.makeups[i + 1:])
    lost: list[int] = []
    owed: list[int] = []
    for rep in _cycle_from(queue.order, queue.last):
        st = queue.status_of(rep)
        if rep in exclude:
            continue
        if st == PRESENT:
            new = replace(queue, last=rep, makeups=queue.makeups + tuple(owed))
            return Turn(rep=rep, kind=ROTATION, lost=tuple(lost), owed=tuple(owed)), new
        (lost if st == ABSENT else owed).append(rep)
    raise NoRepAvailable


def peek(queue: Queue, n: int = 3) -> list[int]:
    """The next ``n`` reps to receive walk-ins if nothing changes (for the desk's display)."""
    out: list[int] = []
    q = queue
    for _ in range(n):
        try:
            turn, q = next_turn(q)
        except NoRepAvailable:
            break
        out.append(turn.rep)
    return out


def position_of(queue: Queue, rep: int) -> int | None:
    """1 when ``rep`` receives the next walk-in, 2 after that, …; None when the rep is not in line
    (not on duty or not present)."""
    if not queue.present(rep):
        return None
    q = queue
    for i in range(1, len(queue.order) + len(queue.makeups) + 2):
        try:
            turn, q = next_turn(q)
        except NoRepAvailable:
            return None
        if turn.rep == rep:
            return i
    return None


def courtesy_receiver(queue: Queue, *, exclude: frozenset[int] | set[int] = frozenset()) -> int:
    """Who receives a returning customer whose own rep is not there: the present rep who comes last in
    the rotation (排班在最后的一位义务接待). Does not move the queue."""
    line = [r for r in _cycle_from(queue.order, queue.last) if queue.present(r) and r not in exclude]
    if not line:
        raise NoRepAvailable
    return line[-1]


def refuse(queue: Queue, refused_rep: int) -> tuple[Turn, Queue]:
    """A customer refuses ``refused_rep`` mid-visit and the manager hands them on: the refused rep is owed
    a priority make-up (轮空, 优先轮值) and the customer is the next rep's counted turn."""
    turn, q = next_turn(queue, exclude={refused_rep})
    if refused_rep in q.order:
        q = replace(q, makeups=(refused_rep,) + q.makeups)
    return turn, q
