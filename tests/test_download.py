"""The downloader against a local HTTP server that injects the faults real hosts show."""

import hashlib
import socket
import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from aifdepth import download
from aifdepth.download import DownloadError, RemoteFile, fetch

HINT = "Or set `datasets.ddff.source: synthetic` in config.yaml to work offline."
BODY = bytes(range(256)) * 400  # 100 kB, larger than one socket buffer so a cut lands mid-transfer


@dataclass
class Route:
    """What the server answers on one path, and which fault it injects."""

    body: bytes
    status: int = 200
    fail_first: int = 0  # answer 500 this many times before serving
    cut_after: int | None = None  # first request: send the full Content-Length, close after this many bytes
    ignore_range: bool = False
    confirm_token: str | None = None  # serve a confirmation page until ?confirm= carries this token
    confirm_by_form: bool = False  # give the token in a hidden form instead of a download_warning cookie
    never_confirm: bool = False  # always answer with HTML
    hits: int = 0


Request = namedtuple("Request", "path query range")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        self.server.requests.append(Request(split.path, query, self.headers.get("Range")))
        route = self.server.routes.get(split.path)
        if route is None or route.status == 404:
            self.send_error(404)
            return
        route.hits += 1
        if route.hits <= route.fail_first:
            self.send_error(500)
            return
        if route.never_confirm or (route.confirm_token and query.get("confirm") != route.confirm_token):
            self._send_confirmation_page(route, split.path)
            return
        self._send_body(route)

    def _send_confirmation_page(self, route, path):
        if route.confirm_by_form:
            page = (
                f'<html><body><form id="download-form" action="{path}" method="get">'
                f'<input type="hidden" name="id" value="abc"><input type="hidden" name="export" value="download">'
                f'<input type="hidden" name="confirm" value="{route.confirm_token}">'
                f'<input type="hidden" name="uuid" value="u-1"></form></body></html>'
            ).encode()
        else:
            page = b"<html><body>Google Drive can't scan this file for viruses.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        if route.confirm_token and not route.confirm_by_form:
            self.send_header("Set-Cookie", f"download_warning_xyz={route.confirm_token}; Path=/")
        self.end_headers()
        self.wfile.write(page)

    def _send_body(self, route):
        start = 0
        range_header = self.headers.get("Range")
        if range_header and not route.ignore_range:
            start = int(range_header.removeprefix("bytes=").rstrip("-"))
            if start >= len(route.body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(route.body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
        else:
            self.send_response(200)
        payload = route.body[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if route.cut_after is not None and route.hits == 1:
            self.wfile.write(payload[: route.cut_after])
            self.close_connection = True
            return
        self.wfile.write(payload)


class LocalServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.routes = {}
        self.httpd.requests = []
        # A short poll interval keeps shutdown, and so each test, fast.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def requests(self) -> list[Request]:
        return self.httpd.requests

    def add(self, path: str, body: bytes = BODY, **faults) -> str:
        """Serve `body` on `path` with the given faults and return its URL."""
        self.httpd.routes[path] = Route(body, **faults)
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server():
    local = LocalServer()
    local.thread.start()
    yield local
    local.httpd.shutdown()
    local.httpd.server_close()
    local.thread.join()


@pytest.fixture
def on_drive(monkeypatch):
    """Treat the local server like Google Drive."""
    monkeypatch.setattr(download, "CONFIRMATION_HOSTS", ("127.0.0.1",))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(url, tmp_path, *, name="data.h5", key="set/data.h5", **options):
    """Fetch `url` into tmp_path/data/`name` with fast retries; return the written path."""
    remote_options = {k: options.pop(k) for k in ("sha256", "size", "page") if k in options}
    remote = RemoteFile(url=url, name=name, **remote_options)
    return fetch(
        remote,
        tmp_path / "data" / name,
        checksums=tmp_path / "checksums.sha256",
        key=key,
        offline_hint=HINT,
        backoff=0.01,
        timeout=5,
        **options,
    )


def test_download_with_published_checksum_writes_exact_bytes(server, tmp_path):
    dest = get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert not dest.with_name("data.h5.part").exists()
    assert server.requests[0].range is None


def test_wrong_published_checksum_leaves_nothing(server, tmp_path):
    url = server.add("/data.h5")
    with pytest.raises(DownloadError) as failure:
        get(url, tmp_path, sha256="0" * 64)
    assert sha256(BODY) in str(failure.value) and "0" * 64 in str(failure.value)
    assert HINT in str(failure.value)
    assert list((tmp_path / "data").iterdir()) == []


def test_cut_transfer_resumes_with_range(server, tmp_path):
    cut = 30_000
    dest = get(server.add("/data.h5", cut_after=cut), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert [request.range for request in server.requests] == [None, f"bytes={cut}-"]


def test_existing_part_is_resumed(server, tmp_path):
    part = tmp_path / "data" / "data.h5.part"
    part.parent.mkdir()
    part.write_bytes(BODY[:1000])
    dest = get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert server.requests[0].range == "bytes=1000-"


def test_server_ignoring_range_restarts(server, tmp_path):
    part = tmp_path / "data" / "data.h5.part"
    part.parent.mkdir()
    part.write_bytes(b"stale bytes from another version")
    dest = get(server.add("/data.h5", ignore_range=True), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY


def test_complete_part_answered_416_is_verified(server, tmp_path):
    part = tmp_path / "data" / "data.h5.part"
    part.parent.mkdir()
    part.write_bytes(BODY)
    dest = get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert len(server.requests) == 1


def test_server_error_is_retried(server, tmp_path):
    dest = get(server.add("/data.h5", fail_first=1), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert len(server.requests) == 2


def test_persistent_server_error_gives_up_after_retries(server, tmp_path):
    url = server.add("/data.h5", fail_first=10)
    with pytest.raises(DownloadError) as failure:
        get(url, tmp_path, retries=2)
    assert len(server.requests) == 3
    assert url in str(failure.value) and "500" in str(failure.value)


def test_not_found_fails_at_once(server, tmp_path):
    url = server.add("/data.h5", status=404)
    with pytest.raises(DownloadError) as failure:
        get(url, tmp_path, page="https://example.org/dataset")
    message = str(failure.value)
    assert len(server.requests) == 1
    assert url in message and "404" in message and "by hand" in message and HINT in message
    assert "https://example.org/dataset" in message and str(tmp_path / "data" / "data.h5") in message


def test_refused_connection_fails_after_retries(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.h5"
    with pytest.raises(DownloadError) as failure:
        get(url, tmp_path, retries=2)
    assert url in str(failure.value) and "3 attempts" in str(failure.value)
    assert not (tmp_path / "data" / "data.h5").exists()


def test_first_download_records_checksum_and_later_change_is_caught(server, tmp_path):
    dest = get(server.add("/data.h5"), tmp_path)
    assert (tmp_path / "checksums.sha256").read_text() == f"{sha256(BODY)}  set/data.h5\n"
    dest.unlink()
    changed = BODY[::-1]
    with pytest.raises(DownloadError) as failure:
        get(server.add("/data.h5", body=changed), tmp_path)
    assert sha256(changed) in str(failure.value) and "checksums.sha256" in str(failure.value)
    assert list((tmp_path / "data").iterdir()) == []


def test_concurrent_downloads_keep_every_recorded_checksum(server, tmp_path):
    bodies = {f"set/file{i}.h5": bytes([i]) * 5000 for i in range(8)}

    def fetch_one(key):
        return get(server.add(f"/{key}", body=bodies[key]), tmp_path, name=key.split("/")[1], key=key)

    with ThreadPoolExecutor(len(bodies)) as pool:
        list(pool.map(fetch_one, bodies))  # re-raises any thread's error here
    lines = set((tmp_path / "checksums.sha256").read_text().splitlines())
    assert lines == {f"{sha256(body)}  {key}" for key, body in bodies.items()}


def test_existing_valid_file_needs_no_request(server, tmp_path):
    dest = tmp_path / "data" / "data.h5"
    dest.parent.mkdir()
    dest.write_bytes(BODY)
    assert get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY)) == dest
    (tmp_path / "checksums.sha256").write_text(f"{sha256(BODY)}  set/data.h5\n")
    assert get(server.add("/data.h5"), tmp_path) == dest
    assert server.requests == []


def test_existing_invalid_file_is_kept_and_reported(server, tmp_path):
    dest = tmp_path / "data" / "data.h5"
    dest.parent.mkdir()
    dest.write_bytes(b"not the dataset")
    with pytest.raises(DownloadError) as failure:
        get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY))
    assert str(dest) in str(failure.value) and "Delete" in str(failure.value)
    assert dest.read_bytes() == b"not the dataset"
    assert server.requests == []


def test_too_little_disk_space_fails_before_the_transfer(server, tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(DownloadError) as failure:
        get(server.add("/data.h5"), tmp_path, sha256=sha256(BODY))
    assert str(tmp_path / "data") in str(failure.value) and "GB" in str(failure.value)
    assert len(server.requests) == 1
    assert list((tmp_path / "data").iterdir()) == []


def test_drive_confirmation_cookie_is_followed(server, tmp_path, on_drive):
    dest = get(server.add("/uc", confirm_token="t0ken"), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert [request.query.get("confirm") for request in server.requests] == [None, "t0ken"]


def test_drive_confirmation_form_is_followed(server, tmp_path, on_drive):
    dest = get(server.add("/download", confirm_token="t", confirm_by_form=True), tmp_path, sha256=sha256(BODY))
    assert dest.read_bytes() == BODY
    assert server.requests[1].query == {"id": "abc", "export": "download", "confirm": "t", "uuid": "u-1"}


def test_unconfirmable_drive_page_names_the_manual_step(server, tmp_path, on_drive):
    url = server.add("/uc", confirm_token="t0ken", never_confirm=True)
    with pytest.raises(DownloadError) as failure:
        get(url, tmp_path, name="trainval.h5", page="https://drive.example/folder")
    message = str(failure.value)
    assert "trainval.h5" in message and str(tmp_path / "data" / "trainval.h5") in message
    assert "https://drive.example/folder" in message and HINT in message
    assert len(server.requests) == 2


def test_html_from_other_hosts_is_not_special_cased(server, tmp_path):
    url = server.add("/uc", confirm_token="t0ken", never_confirm=True)
    with pytest.raises(DownloadError, match="SHA-256"):
        get(url, tmp_path, sha256=sha256(BODY))
    assert len(server.requests) == 1
