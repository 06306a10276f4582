"""How bad input reaches a Dagster user: as a Failure whose description is the plain-language error, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Failure, MetadataValue

from favorita_assets.core.errors import FavoritaDataError


@contextmanager
def data_errors_as_failures() -> Iterator[None]:
    """Turn a FavoritaDataError raised inside the block into a dagster Failure that names file, column and value."""
    try:
        yield
    except FavoritaDataError as error:
        raise Failure(
            description=str(error),
            metadata={k: MetadataValue.text(str(v)) for k, v in error.as_metadata().items()},
            allow_retries=False,
        ) from None


def step_failure_text(event) -> str:
    """What went wrong in a STEP_FAILURE event, in the user's words: a Failure's description, or the innermost
    exception's message (not Dagster's wrapper around it)."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error else "failed"


def is_data_error(event) -> bool:
    """A STEP_FAILURE raised on purpose (a dagster Failure: bad input, a refused request, a failed AWS job), whose
    description says all a user needs; anything else is an unexpected error, whose trace matters."""
    return event.step_failure_data.user_failure_data is not None


def step_failure_trace(event) -> str:
    """The whole error of a STEP_FAILURE event, with its stack trace and causes (for a bug report)."""
    error = event.step_failure_data.error
    return error.to_string() if error else "failed (no error recorded)"
