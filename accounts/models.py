"""The fan (and staff) account: e-mail login, display name, whether the address is verified, and the won balance of
the wallet."""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.service_fields import ServiceFieldsMixin


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra_fields: Any) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra_fields: Any) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("email_verified_at", timezone.now())  # staff are verified (createsuperuser)
        return self.create_user(email, password, **extra_fields)


class User(ServiceFieldsMixin, AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail"), max_length=254, unique=True)
    # When the fan opened the verification link sent to `email` (accounts.services.verify_email); None until then,
    # and again after a change of address. Unverified fans browse and top up, but do not enter waiting rooms
    # (accounts.selectors.must_verify_email, EMAIL_VERIFICATION_REQUIRED).
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=100)
    # Whole won. Only wallet.services changes it, under a row lock or with F(); a plain save() of a user
    # (admin form, password change) never writes it back (see config.service_fields).
    balance = models.BigIntegerField(_("balance (won)"), default=0)
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("joined at"), default=timezone.now, editable=False)

    objects = UserManager()
    service_fields = ("balance",)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="user_balance_non_negative"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save; a new password (set_password: the reset link, the account page, the admin, a command) also revokes
        the account's live API tokens, in the same transaction, as it ends its other sessions: a token made by
        whoever had the account before the change must stop working with them. Any other save (a log-in's
        last_login, a new account, a change of name) is a plain save, with no transaction of its own."""
        password_changed = getattr(self, "_password", None) is not None and not self._state.adding  # set_password
        if not password_changed:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            super().save(*args, **kwargs)
            ApiToken.objects.filter(user_id=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """One staff action that changed something: who (the account, and its address or the operator's name as it
    was then), what (an action code, accounts.audit.ACTION_LABELS), which object, the changed fields before and
    after ({"field": [before, after]}, secrets redacted), when and from which client address.

    Written only by accounts.audit.record, in the transaction of the change it describes; never changed or
    deleted afterwards (save() refuses an update, the admin is read-only).
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    # Who, as it read at the time: the account's e-mail address, or "operator:<OS user>" for a management command.
    actor_label = models.CharField(_("who"), max_length=254, db_index=True)
    action = models.CharField(_("staff action"), max_length=64, db_index=True)
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("object type"),
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    via = models.CharField(_("through"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        from .audit import ACTION_LABELS  # the labels live with the API that writes the entries

        label = ACTION_LABELS.get(self.action, self.action)
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M:%S} · {self.actor_label} · {label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("An audit log entry is never changed.")
        super().save(*args, **kwargs)


class ApiToken(models.Model):
    """A personal access token for the JSON API (/api/v1/): a fan names it, picks what it may do and how long it
    lasts, and sees it once. Only the SHA-256 of the token is kept (`token_hash`, unique: the look-up of a bearer is
    one index probe), with its first characters (`prefix`) so the fan recognises it in the list; the token itself
    is 256 random bits, so a hash needs no salt or slow key derivation. Written by accounts.services only.
    """

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        BOOK = "book", _("Read and book")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    prefix = models.CharField(_("starts with"), max_length=16)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=["read", "book"]), name="api_token_scope_known"),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="api_token_expires_after_creation"
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
