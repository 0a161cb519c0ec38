"""A user account's schema (pydantic): the one the admin API's bodies check, with the rules of
store/accounts.py that `pbx user add` applies too (usernames stored in lower case, display
names, the password rule)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from pbx_stasis.store import accounts
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import Flag, Model, left_out, refusal, text

Username = Annotated[
    str,
    text(max_length=64, pattern=accounts.USERNAME_PATTERN, hint=accounts.USERNAME_HINT),
    Field(description="stored in lower case: THROW2 and throw2 are the same user"),
]
DisplayName = Annotated[str, text(max_length=accounts.MAX_DISPLAY_NAME_LENGTH)]
Password = Annotated[str, text(max_length=accounts.MAX_PASSWORD_LENGTH)]


def _rules(username: str | None, display_name: str | None, password: str | None) -> dict[str, str]:
    """The accounts.py rules once every field has its shape: the values as stored. One problem
    is named, the password's first."""
    problem = accounts.password_problem(password) if password is not None else None
    if problem:
        raise refusal("password", password, problem)
    clean: dict[str, str] = {}
    try:
        if username is not None:
            clean["username"] = accounts.username(username)
        if display_name is not None:
            clean["display_name"] = accounts.display_name(display_name)
    except accounts.AccountInvalid as exc:
        field = "display_name" if exc.field == "name" else exc.field
        raise refusal(field, display_name if field == "display_name" else username,
                      exc.problem) from None
    return clean


class AccountFields(Model):
    """A new user account (POST /api/users)."""

    username: Username
    display_name: DisplayName
    role: Role
    password: Password

    @model_validator(mode="after")
    def _stored(self) -> Self:
        return self.model_copy(update=_rules(self.username, self.display_name, self.password))


class AccountChange(Model):
    """A change to an account (PATCH /api/users/{id}): only the fields given change."""

    display_name: DisplayName = left_out()
    role: Role = left_out()
    disabled: Flag = left_out()
    password: Password = left_out()

    @model_validator(mode="after")
    def _stored(self) -> Self:
        # A display name's problem first, then the password's (as the admin page reads them).
        _rules(None, self.display_name, None)
        return self.model_copy(update=_rules(None, self.display_name, self.password))
