from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "kehu.access"
    label = "access"
    verbose_name = _("Access control")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from kehu.access import authcache
        from kehu.access.models import ApiToken, Department, User

        # The cached token → user look-up and subtrees (kehu.access.authcache) follow every change of what they
        # were read from. Bulk UPDATEs send no signals: the services that make them call authcache themselves.
        def user_changed(sender, instance, update_fields=None, **kwargs):
            if update_fields is not None and set(update_fields) <= {"last_login"}:
                return  # a login stamps this alone: nothing the request's user is checked by
            authcache.forget_user(instance.pk)

        def token_changed(sender, instance, created=False, **kwargs):
            if not created:
                authcache.forget_tokens([instance.key_hash])

        def tree_changed(sender, **kwargs):
            authcache.forget_department_tree()

        post_save.connect(user_changed, sender=User, dispatch_uid="kehu.access.authcache.user_saved", weak=False)
        post_delete.connect(user_changed, sender=User, dispatch_uid="kehu.access.authcache.user_deleted", weak=False)
        post_save.connect(token_changed, sender=ApiToken, dispatch_uid="kehu.access.authcache.token_saved", weak=False)
        post_delete.connect(token_changed, sender=ApiToken, dispatch_uid="kehu.access.authcache.token_deleted", weak=False)
        post_save.connect(tree_changed, sender=Department, dispatch_uid="kehu.access.authcache.tree_saved", weak=False)
        post_delete.connect(tree_changed, sender=Department, dispatch_uid="kehu.access.authcache.tree_deleted", weak=False)
