from kehu.access.roles import Perm


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "can_read_audit": user.has_kehu_perm(Perm.AUDIT_READ),
        "can_write_customers": user.has_kehu_perm(Perm.CUSTOMER_WRITE),
        "can_delete_customers": user.has_kehu_perm(Perm.CUSTOMER_DELETE),
        "can_handle_privacy": user.has_kehu_perm(Perm.PRIVACY),
        "can_manage_catalog": user.has_kehu_perm(Perm.CATALOG_MANAGE),
        "can_handle_complaints": user.has_kehu_perm(Perm.COMPLAINT_HANDLE),
        "can_read_complaint_reports": user.has_kehu_perm(Perm.COMPLAINT_REPORT),
        "can_see_inspections": user.has_kehu_perm(Perm.COMPLAINT_HANDLE) or user.has_kehu_perm(Perm.INSPECTION_MANAGE),
        "can_merge_customers": user.has_kehu_perm(Perm.CUSTOMER_MERGE),
        "can_import_customers": user.has_kehu_perm(Perm.CUSTOMER_IMPORT),
        "can_manage_users": user.has_kehu_perm(Perm.USER_MANAGE),
        "can_manage_grading": user.has_kehu_perm(Perm.GRADING_MANAGE),
        "can_review_customers": user.has_kehu_perm(Perm.CUSTOMER_WRITE) or user.has_kehu_perm(Perm.REVIEW_MANAGE),
        # The sales, admission and survey menus: each link also needs its page's own permission.
        "can_sell": user.has_kehu_perm(Perm.SALES_WRITE) or user.has_kehu_perm(Perm.SALES_MANAGE),
        "can_see_deals": (user.has_kehu_perm(Perm.SALES_WRITE) or user.has_kehu_perm(Perm.SALES_MANAGE)
                          or user.has_kehu_perm(Perm.DEPOSIT_WRITE)),
        "can_see_admission": (user.has_kehu_perm(Perm.CUSTOMER_WRITE) or user.has_kehu_perm(Perm.QUALIFICATION_VERIFY)
                              or user.has_kehu_perm(Perm.QUALIFICATION_MANAGE)),
        "can_see_surveys": user.has_kehu_perm(Perm.SURVEY_MANAGE) or user.has_kehu_perm(Perm.SURVEY_ENTER),
        # The survey tabs: surveys and questionnaires are the managers' pages, interviews the enterers'.
        "can_manage_surveys": user.has_kehu_perm(Perm.SURVEY_MANAGE),
        "can_enter_surveys": user.has_kehu_perm(Perm.SURVEY_ENTER),
    }
