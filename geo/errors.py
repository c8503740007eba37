"""Domain errors. Each says what went wrong and, where it can, what to do next.

Edges map them once: the CLI prints the message, the API maps the class to an HTTP status.
Domain code never imports FastAPI or typer.
"""

from __future__ import annotations


class DualImpactError(Exception):
    """Base class of every error the platform reports to a person."""


class NotFoundError(DualImpactError):
    """A named thing (territory, postcode, record) does not exist."""


class InvalidInputError(DualImpactError):
    """Input that cannot be used as given (bad numbers, a point outside the UK...)."""


class DataFileError(DualImpactError):
    """A data file is missing or malformed; nothing was changed."""

    def __init__(self, path: object, problems: list[str] | str) -> None:
        self.path = path
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        shown = self.problems[:10]
        more = len(self.problems) - len(shown)
        lines = "\n".join(f"  - {p}" for p in shown)
        tail = f"\n  ... and {more} more" if more else ""
        super().__init__(f"{path}:\n{lines}{tail}\nNothing was changed.")


class NotLoadedError(DualImpactError):
    """Data the command needs has not been loaded yet."""


class AuthenticationError(DualImpactError):
    """Who is asking is unknown: no, bad or expired credentials."""


class PermissionDeniedError(DualImpactError):
    """The person is known but may not do this."""


class TooManyAttemptsError(DualImpactError):
    """Too many attempts (failed sign-ins, or sign-ins waiting to be checked): refused
    without looking at them; the client may try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"{message}: try again in {self.retry_after} s")


class ConflictError(DualImpactError):
    """The request clashes with the current state: an illegal transition, a promise beyond
    an activity's need, or another request that got there first."""


class MissingExtraError(DualImpactError):
    """A feature needs an optional extra of the package (``pyproject.toml``) that is not
    installed; the message names the extra and how to install it."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        self.feature = feature
        self.extra = extra
        self.missing = missing
        super().__init__(
            f"{feature} needs the optional '{extra}' extra, which is not installed (no module "
            f"named '{missing}'): install it with `pip install -e '.[{extra}]'` in the project "
            "folder, or run `make setup`, which installs every extra at the locked versions."
        )
