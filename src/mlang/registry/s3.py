"""Artifact bytes in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, ...) via boto3.

`M_ARTIFACTS=s3://bucket/prefix`.  The endpoint, region and credentials come from boto3's own
configuration (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, `~/.aws`).  Objects are
`prefix/sha256/<first two hex digits>/<sha256>`; one PUT is atomic (an object is visible whole or
not at all), so there are no temporary files.  Nothing read from the bucket is trusted: the
repository re-hashes every byte against the sha256 its metadata recorded, so a changed object is
refused exactly as a changed local file is.
"""
from __future__ import annotations

from typing import Iterator

from mlang.lang.diagnostics import MError
from mlang.registry.blobs import TRASH_PREFIX, ArtifactStore, is_sha256, sha256_of


def _boto3():
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MError("M_ARTIFACTS names an S3 bucket, but boto3 is not installed",
                     field="M_ARTIFACTS", hint="pip install boto3") from None
    return boto3, Config


class S3ArtifactStore(ArtifactStore):
    """Blobs in `bucket` under `prefix` (no leading or trailing '/')."""

    def __init__(self, bucket: str, prefix: str = "", *, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        base = f"{self.prefix}/" if self.prefix else ""
        self.root_key = f"{base}sha256/"
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        if client is None:
            boto3, Config = _boto3()
            client = boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> "S3ArtifactStore":
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise MError(f"{url!r} names no bucket", field="M_ARTIFACTS",
                         hint="write M_ARTIFACTS=s3://bucket/prefix")
        return cls(bucket, prefix)

    # ----- keys and errors -------------------------------------------------------------------

    def key(self, sha256: str) -> str:
        return f"{self.root_key}{sha256[:2]}/{sha256}"

    def trash_key(self, sha256: str) -> str:
        return f"{self.root_key}{sha256[:2]}/{TRASH_PREFIX}{sha256}"

    def describe(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self.key(sha256)}"

    def write_hint(self, error_number: int | None = None) -> str:
        return f"check that the bucket {self.bucket!r} exists and can be written with these credentials"

    def _error(self, error: Exception, doing: str) -> MError:
        return MError(f"the artifact store {self.location} cannot be used ({doing}): {error}",
                      field="M_ARTIFACTS",
                      hint="check M_ARTIFACTS, the endpoint (AWS_ENDPOINT_URL_S3), the "
                      "credentials and that the bucket exists")

    @staticmethod
    def _missing(error: Exception) -> bool:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        return code in ("NoSuchKey", "404", "NotFound")

    def _call(self, doing: str, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(kwargs.get("Key", "")) from None
            raise self._error(error, doing) from None
        except BotoCoreError as error:
            raise self._error(error, doing) from None

    def _object(self, key: str) -> bytes:
        return self._call(f"reading {key}", "get_object", Key=key)["Body"].read()

    def _exists(self, key: str) -> bool:
        try:
            self._call(f"looking up {key}", "head_object", Key=key)
            return True
        except FileNotFoundError:
            return False

    def _delete(self, key: str) -> None:
        try:
            self._call(f"deleting {key}", "delete_object", Key=key)
        except FileNotFoundError:
            pass

    def _copy(self, source: str, target: str) -> None:
        self._call(f"copying {source}", "copy_object", Key=target,
                   CopySource={"Bucket": self.bucket, "Key": source})

    # ----- ArtifactStore ---------------------------------------------------------------------

    def put(self, data: bytes, created: list[str] | None = None) -> str:
        sha256 = sha256_of(data)
        if self.verify(sha256):
            return sha256
        # S3 checks the body against the checksum sent with it, and the object appears only once
        # the whole body arrived.
        self._call(f"writing {self.key(sha256)}", "put_object", Key=self.key(sha256), Body=data,
                   ChecksumAlgorithm="SHA256")
        if created is not None:
            created.append(sha256)
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self._object(self.key(sha256))
        except FileNotFoundError:
            return self._object(self.trash_key(sha256))  # set aside by a gc that was killed

    def exists(self, sha256: str) -> bool:
        return self._exists(self.key(sha256))

    def remove(self, sha256: str) -> None:
        self._delete(self.key(sha256))

    def _keys(self) -> Iterator[tuple[str, int]]:
        token = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("listing", "list_objects_v2", Prefix=self.root_key, **extra)
            for item in page.get("Contents", []):
                yield item["Key"].rsplit("/", 1)[-1], item["Size"]
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def list(self) -> Iterator[tuple[str, int]]:
        return iter(sorted((name, size) for name, size in self._keys() if is_sha256(name)))

    def set_aside(self, sha256: str) -> None:
        try:
            self._copy(self.key(sha256), self.trash_key(sha256))
        except FileNotFoundError:
            return
        self._delete(self.key(sha256))

    def put_back(self, sha256: str) -> None:
        if not self.exists(sha256):
            try:
                self._copy(self.trash_key(sha256), self.key(sha256))
            except FileNotFoundError:
                return
        self._delete(self.trash_key(sha256))

    def purge(self, sha256: str) -> None:
        self._delete(self.trash_key(sha256))

    def set_aside_blobs(self) -> Iterator[str]:
        for name, _ in list(self._keys()):
            if name.startswith(TRASH_PREFIX) and is_sha256(name[len(TRASH_PREFIX):]):
                yield name[len(TRASH_PREFIX):]
