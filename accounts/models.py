"""The fan (and staff) account: e-mail login, display name, whether the address is verified, and the won balance of
the wallet."""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
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

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name
