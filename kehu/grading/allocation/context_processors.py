from kehu.access.roles import Perm


def navigation(request):
    """Whether the navigation offers allocation: plans and rounds are read with Perm.ORDER_READ."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can_read_allocation": user.has_kehu_perm(Perm.ORDER_READ),
            "can_manage_allocation": user.has_kehu_perm(Perm.ALLOCATION_MANAGE)}
