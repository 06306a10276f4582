"""Storage in S3: the same keys and formats as the local folder, spread over the platform's three buckets.

A key's first segment picks the bucket: ``raw/...`` and ``landing/...`` (uploads) live in the raw bucket,
``processed/...`` in the processed bucket, and everything else (``training/``, ``models/``, ``evaluation/``,
``forecasts/``, ``submissions/``, ``plots/``) in the artifacts bucket. The key inside the bucket is unchanged, so
``s3://<raw>/raw/train/...`` and ``./var/storage/raw/train/...`` hold the same object. S3 writes are atomic per
object: a reader sees the old object or the new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from pydantic import Field

from favorita_assets.aws.clients import FavoritaAws, missing_object
from favorita_assets.resources.storage import Storage

MULTIPART_THRESHOLD = 64 * 1024 * 1024


class S3Storage(Storage):
    """Storage in the raw, processed and artifacts buckets (FAVORITA_DEPLOYMENT=aws)."""

    raw_bucket: str = Field(description="Bucket for raw/ (landed Kaggle files).")
    processed_bucket: str = Field(description="Bucket for processed/ (cleaned series).")
    artifacts_bucket: str = Field(description="Bucket for training/, models/, evaluation/, forecasts/, plots/ ...")
    kms_key_id: str | None = Field(
        default=None, description="KMS key for server-side encryption of every write; empty uses the bucket default."
    )
    aws: FavoritaAws = Field(description="Region, endpoint, retries and timeouts of the S3 client.")

    @property
    def s3(self):
        return self.aws.client("s3")

    def locate(self, key: str) -> tuple[str, str]:
        """(bucket, key) of a storage key."""
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} is not a relative key")
        head = key.split("/", 1)[0]
        bucket = {"raw": self.raw_bucket, "landing": self.raw_bucket, "processed": self.processed_bucket}.get(
            head, self.artifacts_bucket
        )
        return bucket, key

    def _encryption(self) -> dict[str, str]:
        if not self.kms_key_id:
            return {}
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

    def write_bytes(self, key: str, data: bytes) -> None:
        bucket, key = self.locate(key)
        self.s3.put_object(Bucket=bucket, Key=key, Body=data, **self._encryption())

    def read_bytes(self, key: str) -> bytes:
        bucket, key = self.locate(key)
        try:
            return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if missing_object(error):
                raise FileNotFoundError(f"no object at s3://{bucket}/{key}") from None
            raise

    def exists(self, key: str) -> bool:
        bucket, key = self.locate(key)
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as error:
            if missing_object(error):
                return False
            raise

    def put_file(self, path: str | Path, key: str) -> None:
        bucket, key = self.locate(key)
        self.s3.upload_file(
            str(path),
            bucket,
            key,
            ExtraArgs={"ChecksumAlgorithm": "SHA256", **self._encryption()},
            Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD),
        )

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        bucket, key = self.locate(key)
        fd, tmp = tempfile.mkstemp(prefix="favorita_s3_", suffix=f"_{Path(key).name}")
        os.close(fd)
        try:
            try:
                self.s3.download_file(bucket, key, tmp)
            except ClientError as error:
                if missing_object(error):
                    raise FileNotFoundError(f"no object at s3://{bucket}/{key}") from None
                raise
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        bucket, key = self.locate(key)
        return f"s3://{bucket}/{key}"

    def list_keys(self, prefix: str) -> list[str]:
        bucket, prefix = self.locate(prefix)
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        bucket, key = self.locate(key)
        self.s3.delete_object(Bucket=bucket, Key=key)
