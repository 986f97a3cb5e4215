"""Fetch published dataset files: resumable, retried, checksum-verified and atomic.

Archives are several GB and hosts drop connections, so a transfer goes to `<dest>.part`, resumes with an
HTTP Range request after a failure and is renamed onto `dest` only once its SHA-256 matches. Only the
standard library and tqdm are used, so any node that runs the workflow can fetch data.
"""

import fcntl
import hashlib
import http.client
import http.cookiejar
import logging
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tqdm import tqdm

from .errors import InputError
from .io.atomic import atomic_path

log = logging.getLogger(__name__)

USER_AGENT = "aifdepth/0.1 (+https://github.com/)"
# Hosts that answer large files with an HTML "can't scan for viruses" page that must be confirmed.
CONFIRMATION_HOSTS = ("drive.google.com", "drive.usercontent.google.com")
CONFIRMATION_FIELDS = ("id", "export", "confirm", "uuid")
CONFIRMATION_PAGE_LIMIT = 1 << 20  # bytes of the HTML page read to find the confirmation
CHUNK_BYTES = 1 << 20
DISK_MARGIN = 1.05
RETRY_HTTP_CODES = (429,)  # besides 5xx


@dataclass(frozen=True)
class RemoteFile:
    url: str
    name: str
    sha256: str | None = None
    size: int | None = None
    page: str = ""

    def at_mirror(self, mirror: str) -> "RemoteFile":
        """The same file, under its name in a folder of the user's own (`mirror:` in the config)."""
        return replace(self, url=f"{mirror.rstrip('/')}/{self.name}")


class DownloadError(InputError):
    """A file could not be fetched or verified; the message says how to get it by hand."""


class _TransientError(Exception):
    """A failure worth retrying (dropped connection, timeout, 5xx); the bytes in .part are kept."""


def fetch(
    remote: RemoteFile,
    dest: Path,
    *,
    checksums: Path,
    key: str,
    offline_hint: str = "",
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> Path:
    """Download remote.url to `dest` (a file path) and return dest.

    An existing `dest` is verified instead of downloaded again. Without a published or recorded checksum,
    the first download records one under `key` in `checksums` (trust on first use).
    """
    dest = Path(dest)
    checksums = Path(checksums)
    if dest.exists():
        _verify_existing(remote, dest, checksums, key, offline_hint)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    transfer = _Transfer(remote, dest, offline_hint, timeout)
    for attempt in range(retries + 1):
        try:
            transfer.run()
            break
        except _TransientError as error:
            if attempt == retries:
                raise DownloadError(transfer.failure(f"{error} (gave up after {retries + 1} attempts)")) from error
            delay = backoff * 2**attempt
            log.warning(
                "Downloading %s failed: %s; retrying in %.3g s (%d/%d)", remote.url, error, delay, attempt + 1, retries
            )
            time.sleep(delay)
    _verify_part(remote, transfer.part, dest, checksums, key, offline_hint)
    os.replace(transfer.part, dest)
    return dest


class _Transfer:
    """One file's download into `<dest>.part`; each run() resumes from the bytes already there."""

    def __init__(self, remote: RemoteFile, dest: Path, offline_hint: str, timeout: float):
        self.remote = remote
        self.dest = dest
        self.part = dest.with_name(dest.name + ".part")
        self.offline_hint = offline_hint
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def run(self):
        offset = self.part.stat().st_size if self.part.exists() else 0
        try:
            response = self._open(offset)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:
                log.info(
                    "%s: server has no bytes past %d; verifying %s as complete", self.remote.url, offset, self.part
                )
                return
            raise self._classify(error) from error
        except (http.client.HTTPException, OSError) as error:  # OSError covers URLError: refused, timeout, DNS
            raise self._classify(error) from error
        with response:
            resumed = response.status == 206
            already = offset if resumed else 0
            length = response.headers.get("Content-Length")
            length = int(length) if length is not None else None
            needed = length if length is not None else (self.remote.size - already if self.remote.size else None)
            if needed is not None:
                self._check_free_space(needed)
            if offset and not resumed:
                log.info(
                    "%s ignored the resume request; downloading %s from the start", self.remote.url, self.remote.name
                )
            try:
                self._copy_body(response, resumed, already, length)
            except OSError as error:  # a local problem such as a full disk: retrying will not help
                raise DownloadError(self.failure(f"writing {self.part} failed: {error}")) from error

    def _open(self, offset: int):
        """Open the body's response, confirming a cloud drive's virus-scan page first if one comes."""
        response = self.opener.open(self._request(self.remote.url, offset), timeout=self.timeout)
        if not self._is_confirmation_page(response):
            return response
        with response:
            page_url = response.geturl()
            page = response.read(CONFIRMATION_PAGE_LIMIT).decode("utf-8", "replace")
        confirmed_url = self._confirmed_url(page_url, page)
        if confirmed_url is None:
            raise DownloadError(
                self._manual_download("the download page asks for a confirmation this downloader cannot find")
            )
        response = self.opener.open(self._request(confirmed_url, offset), timeout=self.timeout)
        if _is_html(response):
            response.close()
            raise DownloadError(
                self._manual_download(
                    "the host answered with a web page instead of the file, "
                    "even after confirming its virus-scan warning"
                )
            )
        return response

    @staticmethod
    def _request(url: str, offset: int) -> urllib.request.Request:
        headers = {"User-Agent": USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return urllib.request.Request(url, headers=headers)

    @staticmethod
    def _is_confirmation_page(response) -> bool:
        host = urlsplit(response.geturl()).hostname or ""
        on_drive = any(host == known or host.endswith("." + known) for known in CONFIRMATION_HOSTS)
        return on_drive and _is_html(response)

    def _confirmed_url(self, page_url: str, page: str) -> str | None:
        """The URL that skips the warning: from a `download_warning*` cookie, or else from the page's form."""
        for cookie in self.cookies:
            if cookie.name.startswith("download_warning"):
                return _with_query(self.remote.url, {"confirm": cookie.value})
        form = _ConfirmationForm()
        form.feed(page)
        if "confirm" not in form.fields:
            return None
        return _with_query(urljoin(page_url, form.action or page_url), form.fields)

    def _check_free_space(self, needed: int):
        folder = self.dest.parent
        free = shutil.disk_usage(folder).free
        if free < needed * DISK_MARGIN:
            raise DownloadError(
                f"Not enough disk space to download {self.remote.url} to {self.dest}: it needs {_gigabytes(needed)} "
                f"(plus a 5 % margin) but only {_gigabytes(free)} is free in {folder}. Free some space there or "
                f"point the data folder to a larger disk, then run again. {self.offline_hint}".rstrip()
            )

    def _copy_body(self, response, resumed: bool, already: int, length: int | None):
        received = 0
        total = already + length if length is not None else None
        with (
            open(self.part, "ab" if resumed else "wb") as out,
            tqdm(
                total=total,
                initial=already,
                unit="B",
                unit_scale=True,
                mininterval=2,
                file=sys.stderr,
                desc=self.remote.name,
            ) as progress,
        ):
            while chunk := self._read_chunk(response, received):
                out.write(chunk)
                received += len(chunk)
                progress.update(len(chunk))
        if length is not None and received < length:
            raise _TransientError(f"connection closed after {received} of {length} bytes")

    @staticmethod
    def _read_chunk(response, received: int) -> bytes:
        try:
            return response.read(CHUNK_BYTES)
        except (http.client.HTTPException, OSError) as error:
            raise _TransientError(f"connection lost after {received} bytes: {_describe(error)}") from error

    def _classify(self, error: Exception) -> Exception:
        """Retry dropped connections, timeouts, 5xx and 429; any other HTTP error fails at once."""
        if isinstance(error, urllib.error.HTTPError) and error.code < 500 and error.code not in RETRY_HTTP_CODES:
            return DownloadError(self.failure(f"HTTP {error.code} {error.reason}"))
        return _TransientError(_describe(error))

    def failure(self, reason: str) -> str:
        """Message for a download that failed for good."""
        if self.part.exists():
            kept = (
                f"; the {self.part.stat().st_size} bytes fetched so far stay in {self.part} and the next run "
                "resumes from them"
            )
        else:
            kept = ""
        return (
            f"Could not download {self.remote.url}: {reason}. No partial file was left at {self.dest}{kept}. "
            + self._manual_download_hint()
        )

    def _manual_download(self, reason: str) -> str:
        return f"Could not download {self.remote.url}: {reason}. " + self._manual_download_hint()

    def _manual_download_hint(self) -> str:
        source = self.remote.page or self.remote.url
        return (
            f"Fetch {self.remote.name} by hand from {source} and place it at {self.dest}. {self.offline_hint}".rstrip()
        )


class _ConfirmationForm(HTMLParser):
    """Collects the action and hidden confirmation fields of a virus-scan warning page's form."""

    def __init__(self):
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and not self.action:
            self.action = attributes.get("action") or ""
        elif tag == "input" and attributes.get("name") in CONFIRMATION_FIELDS:
            self.fields[attributes["name"]] = attributes.get("value") or ""


def _is_html(response) -> bool:
    return response.headers.get_content_type() == "text/html"


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | extra
    return urlunsplit(parts._replace(query=urlencode(query)))


def _describe(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _gigabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.2f} GB"


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _read_checksums(checksums: Path) -> dict[str, str]:
    """Key -> hex digest from a `sha256sum`-format file (`<hex>  <key>` or `<hex> *<key>` per line)."""
    if not checksums.exists():
        return {}
    recorded = {}
    for line in checksums.read_text().splitlines():
        digest, _, name = line.partition(" ")
        if digest and not digest.startswith("#") and name:
            recorded.setdefault(name[1:] if name[0] in " *" else name, digest.lower())
    return recorded


def _check_digest(remote: RemoteFile, path: Path, checksums: Path, key: str) -> tuple[str, str, str]:
    """SHA-256 of `path`, the one it must have and where that comes from.

    Without a published or recorded checksum, the file's own is recorded (trust on first use).
    """
    actual = _sha256(path)
    if remote.sha256:
        return actual, remote.sha256.strip().lower(), "the published checksum"
    origin = f"the checksum recorded for {key} in {checksums}"
    expected = _read_checksums(checksums).get(key)
    return actual, expected or _record_digest(checksums, key, actual), origin


def _record_digest(checksums: Path, key: str, digest: str) -> str:
    """Add `digest` for `key` unless another download recorded one first; return the recorded digest.

    The lock and the atomic rewrite keep lines from concurrent downloads into the same file.
    """
    checksums.parent.mkdir(parents=True, exist_ok=True)
    with open(checksums.with_name(checksums.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recorded = _read_checksums(checksums).get(key)
        if recorded is not None:
            return recorded
        text = checksums.read_text() if checksums.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        with atomic_path(checksums) as tmp:
            tmp.write_text(f"{text}{digest}  {key}\n")
    log.info(
        "Recorded the SHA-256 of %s in %s; commit that file so later downloads are checked against it", key, checksums
    )
    return digest


def _verify_part(remote: RemoteFile, part: Path, dest: Path, checksums: Path, key: str, offline_hint: str):
    """Check the finished download; a corrupt .part is deleted so it is never resumed."""
    actual, expected, origin = _check_digest(remote, part, checksums, key)
    if actual != expected:
        part.unlink()
        fix = f"Run again to retry; if it keeps failing, fetch {remote.name} by hand from {remote.page or remote.url}"
        fix += f", check it and place it at {dest}"
        if not remote.sha256:
            fix += f", or delete the line for {key} in {checksums} if the host published a new version"
        raise DownloadError(
            f"The file downloaded from {remote.url} for {dest} is corrupt or has changed: its SHA-256 "
            f"is {actual} but {expected} was expected ({origin}). The download was deleted. {fix}. "
            f"{offline_hint}".rstrip()
        )


def _verify_existing(remote: RemoteFile, dest: Path, checksums: Path, key: str, offline_hint: str):
    """Check a file that is already there (downloaded before or placed by hand) without touching the network."""
    actual, expected, origin = _check_digest(remote, dest, checksums, key)
    if actual != expected:
        fix = f"Delete {dest} to download it again from {remote.url}"
        if not remote.sha256:
            fix += f", or, if you trust this file, replace the line for {key} in {checksums} with `{actual}  {key}`"
        raise DownloadError(
            f"{dest} exists but its SHA-256 is {actual}, not {expected} ({origin}); it was left "
            f"untouched. {fix}. {offline_hint}".rstrip()
        )
