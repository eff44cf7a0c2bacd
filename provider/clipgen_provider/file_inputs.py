"""Files handed from one task to the next: what a file input names, and how to read or share it.

Whatever a generate operator or sensor returns is a valid input of the next task: ``stored_paths``
entries (local paths, ``file://``, ``s3://`` … strings), ``media_urls`` (http(s)), an
``ObjectStoragePath``, and, for Clipwise, asset ids. Both APIs tell these apart here, with one rule,
before anything is sent:

- an **http(s) URL** (:class:`HttpUrl`);
- a **file Airflow can open** (:class:`StoredFile`): a local path, a ``file://`` URL, a URL of any
  scheme Airflow has a filesystem for (``s3://`` with the Amazon provider, ``gs://`` with the Google
  one, ``memory://``, or one attached with ``airflow.sdk.io.store.attach``), or an
  ``ObjectStoragePath``; it must exist and be a file;
- a **bare id** (:class:`AssetId`): letters, digits, ``_``, ``-``, ``.`` and ``:`` only, such as
  ``upl_3f9c…``, and not a file name of a known type (``clip.mp4`` that does not exist is a missing
  file, not an id).

Anything else (a missing file, a directory, a scheme Airflow cannot open, ``"None"`` rendered from a
missing XCom, a list rendered as text) is a :class:`ClipgenConfigError` naming the parameter, the
value and what to pass instead. A parameter that takes one file also takes a list of exactly one
(``stored_paths`` as it is); a longer list is refused.

Files are read as streams (:meth:`StoredFile.open`, :meth:`HttpUrl.open`), never whole. Clipia
fetches its inputs itself, so it needs a public URL: :func:`public_inputs` hands it http(s) URLs as
they are and a file on a store that can sign URLs (``fs.sign``) as a signed URL.
"""

from __future__ import annotations

import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias, TypeGuard
from urllib.parse import urlsplit

from clipgen_provider.exceptions import ClipgenConfigError

#: what a Clipwise file parameter of a generation takes
CLIPWISE_ACCEPTS = (
    "a Clipwise id (upl_…, res_…), an http(s) URL, or a file: a local path, a file:// URL, a URL "
    "Airflow can open (s3://, gs://, memory://, …) or an ObjectStoragePath — e.g. a stored_paths "
    "entry or a media_urls entry of an earlier task"
)
#: what an upload (a file to send) takes
FILE_ACCEPTS = (
    "a file: a local path, a file:// URL, a URL Airflow can open (s3://, gs://, memory://, …), an "
    "ObjectStoragePath, or an http(s) URL to download — e.g. a stored_paths or media_urls entry"
)
#: what a Clipia media input (``image_url`` …) takes
CLIPIA_ACCEPTS = (
    "an http(s) URL Clipia can fetch, such as a media_urls entry of the generate task, or a file on a "
    "store that can sign URLs (s3:// with the Amazon provider, gs:// with the Google provider), such "
    "as a stored_paths entry of an output_path there"
)
#: how long a signed URL given to Clipia is valid: Clipia's idempotency window, within which a
#: resubmit of the task instance sends this same URL again
SIGNED_URL_SECONDS = 24 * 3600

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_ASSET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
_SHOWN_CHARS = 160


def refused(param: str, problem: str, accepts: str) -> ClipgenConfigError:
    """The error for an input that cannot be used: which parameter, what is wrong, what to pass."""
    return ClipgenConfigError(f"{param}: {problem}. Pass {accepts}. Nothing was sent.")


def shown(value: Any) -> str:
    """``value`` for an error message: its repr, shortened."""
    text = repr(str(value) if isinstance(value, os.PathLike) or is_storage_path(value) else value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def is_storage_path(value: Any) -> bool:
    """Whether ``value`` is an ``ObjectStoragePath`` (which is not an ``os.PathLike``)."""
    from airflow.sdk import ObjectStoragePath

    return isinstance(value, ObjectStoragePath)


def is_asset_id(text: str) -> bool:
    """Whether ``text`` reads as an id: letters, digits, ``_ - . :``, and not a file name of a known
    type (``clip.mp4``) nor the text ``None``. Says nothing about whether a file of that name exists.
    """
    return bool(_ASSET_ID.fullmatch(text)) and not mimetypes.guess_type(text)[0] and text != "None"


def is_file_list(value: Any) -> TypeGuard[Sequence[Any]]:
    """Whether ``value`` is a list of inputs (any sequence but a string), e.g. ``stored_paths``."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


@dataclass(frozen=True)
class AssetId:
    """A bare word: the id of something the API already holds, passed on as it is."""

    value: str


@dataclass(frozen=True)
class HttpUrl:
    """An http(s) URL: passed on where the API takes URLs, else downloaded (streamed) and uploaded."""

    url: str

    @property
    def key(self) -> str:
        """What identifies the file: the URL."""
        return self.url

    @property
    def name(self) -> str:
        """The file name the URL ends with (``download`` when it names none)."""
        return Path(urlsplit(self.url).path).name or "download"

    def __str__(self) -> str:
        """The URL without its query, which may carry a signature: safe for logs."""
        return self.url.split("?", 1)[0]

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """Download the file (streamed, checked against its ``Content-Length``) into a private
        temporary folder, and open it; the copy is deleted after the block.
        """
        from clipgen_provider.media import MediaItem, store_media

        with tempfile.TemporaryDirectory(prefix="clipgen-input-") as folder:
            store_media([MediaItem(self.url)], f"file://{folder}", stem="input")
            (copy,) = Path(folder).iterdir()
            with copy.open("rb") as handle:
                yield handle


@dataclass(frozen=True)
class StoredFile:
    """A file Airflow can open, local or in object storage; ``path`` is its ``ObjectStoragePath``."""

    path: Any

    @property
    def key(self) -> str:
        """What identifies the file: its URL (with the connection id, if the path names one)."""
        return str(self.path)

    @property
    def name(self) -> str:
        """The file's name."""
        return str(self.path.name) or "upload"

    @property
    def protocol(self) -> str:
        """The store's scheme: ``file``, ``s3``, ``memory`` …"""
        return str(self.path.protocol)

    def __str__(self) -> str:
        return self.key

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The file, open for binary reading (streamed by its filesystem, never read whole)."""
        with self.path.open("rb") as handle:
            yield handle

    def signed_url(self, expiration: int) -> str | None:
        """A URL anyone holding it can fetch for ``expiration`` seconds, or None if the store
        cannot sign URLs (a local disk, ``memory://``).
        """
        try:
            # the filesystem's own path form: ObjectStoragePath.sign spells it differently per Airflow version
            url = str(self.path.fs.sign(self.path.path, expiration=expiration))
        except NotImplementedError:
            return None
        return url if url.startswith(("http://", "https://")) else None


#: what a file input names
Located: TypeAlias = "AssetId | HttpUrl | StoredFile"
#: an input that names a file to read
FileSource: TypeAlias = "HttpUrl | StoredFile"


def _existing(param: str, value: Any, path: Any, accepts: str) -> StoredFile:
    """``path`` (an ``ObjectStoragePath``) as a :class:`StoredFile` if it is an existing file."""
    try:
        info = path.fs.info(path.path)
    except FileNotFoundError:
        raise refused(param, f"no such file {shown(value)}", accepts) from None
    except PermissionError as err:
        raise refused(param, f"{shown(value)} cannot be read ({err})", accepts) from err
    if info.get("type") == "directory":
        raise refused(param, f"{shown(value)} is a directory", accepts)
    return StoredFile(path)


def _in_store(param: str, value: Any, scheme: str, accepts: str) -> StoredFile:
    """The file a storage URL or ``ObjectStoragePath`` names, through Airflow's filesystems."""
    from clipgen_provider.media import as_storage_path

    try:
        path = as_storage_path(value)
        path.fs  # noqa: B018 - resolve the filesystem now: an unknown scheme fails here, not mid-upload
    except (ValueError, ImportError) as err:
        raise refused(
            param,
            f"Airflow cannot open {scheme}:// URLs such as {shown(value)} ({err}); install the provider "
            f"that serves {scheme}:// (apache-airflow-providers-amazon[s3fs] for s3://, "
            "apache-airflow-providers-google for gs://) or attach a filesystem with "
            "airflow.sdk.io.store.attach",
            accepts,
        ) from err
    return _existing(param, value, path, accepts)


def _local(param: str, value: Any, accepts: str) -> StoredFile:
    """A local file as a ``file://`` :class:`StoredFile`; ``~`` is expanded."""
    from airflow.sdk import ObjectStoragePath

    path = Path(value).expanduser().absolute()
    return _existing(param, value, ObjectStoragePath(f"file://{path}"), accepts)


def _bare_word(param: str, text: str, accepts: str) -> Located:
    """A string with no scheme: an existing local file, else a bare id, else refused."""
    if not text.strip():
        raise refused(param, "the value is empty", accepts)
    try:
        exists = Path(text).expanduser().exists()
    except (OSError, ValueError):  # a name the OS cannot even look up (too long, NUL byte)
        exists = False
    if exists:
        return _local(param, text, accepts)
    if text == "None":
        raise refused(
            param,
            "the value is the text 'None' — a template rendered a missing XCom or param (check the "
            "upstream task's return value and the key you pull)",
            accepts,
        )
    if text.lstrip().startswith(("[", "(")):
        raise refused(
            param,
            f"{shown(text)} is a list rendered as text; hand the list itself (an XComArg such as "
            "generate.output, or render_template_as_native_obj=True on the DAG) or one of its items",
            accepts,
        )
    if is_asset_id(text):
        return AssetId(text)
    raise refused(param, f"no such file {shown(text)}", accepts)


def locate(param: str, value: Any, accepts: str) -> Located:
    """What ``value``, given for parameter ``param``, names; a :class:`ClipgenConfigError` that says
    what to pass (``accepts``) when it names nothing usable. Local and stored files must exist.
    """
    if is_storage_path(value):
        if value.protocol:
            return _in_store(param, value, value.protocol, accepts)
        return _local(param, str(value), accepts)
    if isinstance(value, os.PathLike):
        return _local(param, value, accepts)
    if not isinstance(value, str):
        raise refused(param, f"expected a file or an id, got {type(value).__name__} {shown(value)}", accepts)
    scheme = _SCHEME.match(value)
    if scheme is None:
        return _bare_word(param, value, accepts)
    if scheme.group(1).lower() in ("http", "https"):
        if not urlsplit(value).hostname:
            raise refused(param, f"{shown(value)} is a URL without a host", accepts)
        return HttpUrl(value)
    return _in_store(param, value, scheme.group(1), accepts)


def readable_file(param: str, value: Any, accepts: str = FILE_ACCEPTS) -> FileSource:
    """The file ``value`` names, to be read and sent: a stored file or an http(s) URL (a list of one
    item is that item). A bare word that is no existing file is refused as "no such file".
    """
    located = locate(param, single(param, value, accepts), accepts)
    if isinstance(located, AssetId):
        raise refused(param, f"no such file {shown(located.value)}", accepts)
    return located


def single(param: str, value: Any, accepts: str) -> Any:
    """``value``, or its only item when it is a list of one (``stored_paths`` as it is)."""
    if not is_file_list(value):
        return value
    items = list(value)
    if len(items) == 1:
        return items[0]
    count = "an empty list" if not items else f"a list of {len(items)} items"
    raise refused(
        param, f"takes one file, got {count} {shown(items)}", f"one of them (e.g. stored_paths[0]): {accepts}"
    )


def entries(param: str, value: Any) -> list[tuple[str, int | None, Any]]:
    """The items of a list parameter as ``(label, position, item)``; a lone value is one entry."""
    if is_file_list(value):
        return [(f"{param}[{index}]", index, item) for index, item in enumerate(value)]
    return [(param, None, value)]


def substitute(
    params: Mapping[str, Any], replacements: Mapping[tuple[str, int | None], Any]
) -> dict[str, Any]:
    """A copy of ``params`` with each ``(param, position)`` replaced (position None: the whole value)."""
    result = {name: list(value) if is_file_list(value) else value for name, value in params.items()}
    for (param, position), new in replacements.items():
        if position is None:
            result[param] = new
        else:
            result[param][position] = new
    return result


# -- Clipia: public URLs ---------------------------------------------------------------------------
def is_media_url_input(name: str, value: Any) -> bool:
    """Whether Clipia input ``name`` takes media URLs: its name ends in ``_url`` or ``_urls`` (Clipia's
    naming, e.g. ``image_url`` of ``seedance-2-fast-i2v``), or its value is a path object.
    """
    if name.endswith(("_url", "_urls")):
        return True
    items = value if is_file_list(value) else [value]
    return any(isinstance(item, os.PathLike) or is_storage_path(item) for item in items)


@dataclass(frozen=True)
class PublicInputs:
    """Clipia inputs with every media input a URL Clipia can fetch, and what was signed for that."""

    inputs: dict[str, Any]
    #: ``(label, file)`` for each input replaced by a signed URL (empty: nothing to record)
    signed: tuple[tuple[str, StoredFile], ...]
    #: the inputs as given, lists materialized: what identifies them from one try to the next
    given: dict[str, Any]


def public_url(param: str, value: Any, expiration: int = SIGNED_URL_SECONDS) -> tuple[str, StoredFile | None]:
    """A URL Clipia can fetch for ``value``, and the stored file it signed (None for an http(s) URL)."""
    located = locate(param, value, CLIPIA_ACCEPTS)
    if isinstance(located, HttpUrl):
        return located.url, None
    if isinstance(located, AssetId):
        raise refused(param, f"{shown(value)} is not a URL", CLIPIA_ACCEPTS)
    if located.protocol in ("file", "local"):
        raise refused(
            param,
            f"{shown(value)} is a local file, and Clipia fetches its inputs over the internet",
            CLIPIA_ACCEPTS,
        )
    url = located.signed_url(expiration)
    if url is None:
        raise refused(
            param,
            f"{shown(value)} is on a {located.protocol}:// store that cannot sign URLs, and Clipia "
            "fetches its inputs over the internet",
            CLIPIA_ACCEPTS,
        )
    return url, located


def public_inputs(inputs: Mapping[str, Any], expiration: int = SIGNED_URL_SECONDS) -> PublicInputs:
    """``inputs`` with every media input (see :func:`is_media_url_input`) made a URL Clipia can fetch.

    http(s) URLs pass as they are; a file on a store that can sign URLs becomes a signed URL valid for
    ``expiration`` seconds; a ``*_url`` input given a list of one gets that item. Anything else is a
    :class:`ClipgenConfigError`, raised before anything is sent. A signed URL differs each time it is
    made: a caller that may resubmit must record the result (see ``ClipiaGenerateOperator``).
    """
    replacements: dict[tuple[str, int | None], Any] = {}
    signed: list[tuple[str, StoredFile]] = []
    for name, value in inputs.items():
        if value is None or not is_media_url_input(name, value):
            continue
        if name.endswith("_urls"):
            items = entries(name, value)
        else:
            items = [(name, None, single(name, value, CLIPIA_ACCEPTS))]
        for label, position, item in items:
            url, stored = public_url(label, item, expiration)
            replacements[(name, position)] = url
            if stored is not None:
                signed.append((label, stored))
    return PublicInputs(substitute(inputs, replacements), tuple(signed), substitute(inputs, {}))
