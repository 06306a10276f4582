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
