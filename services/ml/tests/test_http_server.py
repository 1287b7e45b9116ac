"""The running service (``python -m app``, uvicorn) at the HTTP level, over raw sockets: the
size limits and timeouts of the TypeScript services, and Problems where uvicorn would answer
text/plain or nothing (issue 9, findings 6 and 9)."""

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from portico_kit.http_server import HEAD_LIMIT_BYTES
from portico_kit.limits import BODY_LIMIT_BYTES
from portico_kit.testing import TestIssuer, jwks_server

from tests.support.servers import ml_service, nats_server

PROBLEM = "application/problem+json"
# Short deadlines, so that the tests of slow clients are quick.
TIMEOUTS = {
    "HTTP_HEADERS_TIMEOUT_MS": "400",
    "HTTP_REQUEST_TIMEOUT_MS": "800",
    "HTTP_KEEP_ALIVE_TIMEOUT_MS": "600",
}
ISSUER = TestIssuer()


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    """Host and port of the service, with its own NATS and the test issuer's JWK Set."""
    with nats_server() as nats_url, jwks_server(ISSUER.jwks) as jwks_url:
        env = {"NATS_URL": nats_url, "JWKS_URL": jwks_url, "NODE_ENV": "test", **TIMEOUTS}
        with ml_service(env) as url:
            parts = urlsplit(url)
            assert parts.hostname is not None
            assert parts.port is not None
            yield parts.hostname, parts.port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"] == PROBLEM
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == self.status
        return problem


def read_answer(sock: socket.socket, method: str = "GET") -> Answer:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return Answer(response.status, headers, body)


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection (within the socket's timeout)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def assert_refused(sock: socket.socket, status: int, detail: str, method: str = "GET") -> None:
    """The server answered ``status`` with a Problem saying ``detail``, and closed."""
    answer = read_answer(sock, method)
    assert answer.status == status
    assert answer.problem()["detail"] == detail
    assert answer.headers["connection"] == "close"
    assert closed_by_server(sock)


@pytest.fixture
def connection(address: tuple[str, int]) -> Iterator[socket.socket]:
    with socket.create_connection(address, timeout=10) as sock:
        yield sock


def test_answers_headers_over_16_kib_with_431(connection: socket.socket) -> None:
    big = "a" * HEAD_LIMIT_BYTES
    connection.sendall(f"GET /ml/models HTTP/1.1\r\nHost: ml\r\nX-Big: {big}\r\n\r\n".encode())
    assert_refused(connection, 431, "The request line and headers are too large.")


def test_refuses_endless_headers_before_they_end(connection: socket.socket) -> None:
    connection.sendall(b"GET /ml/models HTTP/1.1\r\nHost: ml\r\n")
    connection.sendall(b"X-Endless: " + b"a" * (2 * HEAD_LIMIT_BYTES))  # and never a CRLF
    assert read_answer(connection).status == 431


def test_accepts_headers_under_the_limit(connection: socket.socket) -> None:
    padding = "a" * (HEAD_LIMIT_BYTES // 2)
    connection.sendall(f"GET /ml/models HTTP/1.1\r\nHost: ml\r\nX-Pad: {padding}\r\n\r\n".encode())
    assert read_answer(connection).status == 200


def test_refuses_an_announced_body_over_1_mib_without_reading_it(
    connection: socket.socket,
) -> None:
    # 30 MB announced, none sent: the answer comes without the server waiting for any of it.
    connection.sendall(
        b"POST /ml/sentiment HTTP/1.1\r\nHost: ml\r\nContent-Type: application/json\r\n"
        b"Content-Length: 30000000\r\n\r\n"
    )
    assert_refused(connection, 413, "The request body is too large.", "POST")


def test_refuses_a_streamed_body_once_past_1_mib(connection: socket.socket) -> None:
    connection.sendall(
        b"POST /ml/sentiment HTTP/1.1\r\nHost: ml\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 65_536
    try:
        for _ in range(BODY_LIMIT_BYTES // len(chunk) + 2):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused while sending: the answer is waiting
    answer = read_answer(connection, "POST")
    assert answer.status == 413
    assert answer.problem()["detail"] == "The request body is too large."


def test_serves_a_websocket_upgrade_request_as_plain_http(connection: socket.socket) -> None:
    connection.sendall(
        b"GET /nowhere HTTP/1.1\r\nHost: ml\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    assert read_answer(connection).problem()["status"] == 404


def test_answers_a_malformed_request_with_a_400_problem(connection: socket.socket) -> None:
    connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    assert_refused(connection, 400, "The request is not valid HTTP.")


def test_answers_408_to_a_client_that_sends_nothing(connection: socket.socket) -> None:
    assert_refused(connection, 408, "The request was not received in time.")


def test_answers_408_to_headers_that_never_end(connection: socket.socket) -> None:
    connection.sendall(b"GET /ml/models HTTP/1.1\r\nHost: ml\r\n")
    assert read_answer(connection).status == 408


def test_answers_408_to_a_body_that_never_ends(connection: socket.socket) -> None:
    connection.sendall(
        b"POST /ml/sentiment HTTP/1.1\r\nHost: ml\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"text": '
    )
    assert read_answer(connection, "POST").status == 408


def test_closes_an_idle_kept_alive_connection(connection: socket.socket) -> None:
    connection.sendall(b"GET /ml/models HTTP/1.1\r\nHost: ml\r\n\r\n")
    assert read_answer(connection).status == 200
    # Sooner than uvicorn's own 5 s: the configured keep-alive timeout applies.
    connection.settimeout(4)
    assert closed_by_server(connection)


def request(address: tuple[str, int], method: str, path: str, body: bytes | None = None) -> Answer:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/ml/models", "/healthz", "/openapi.json"])
def test_answers_head_like_get_without_the_body(address: tuple[str, int], path: str) -> None:
    got = request(address, "GET", path)
    head = request(address, "HEAD", path)
    assert (head.status, head.body) == (got.status, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.body))


@pytest.mark.parametrize(
    ("path", "status"), [("/ml/models?x=1", 400), ("/nowhere", 404), ("/ml/sentiment", 405)]
)
def test_answers_head_errors_like_get_without_the_body(
    address: tuple[str, int], path: str, status: int
) -> None:
    head = request(address, "HEAD", path)
    assert (head.status, head.body) == (status, b"")
    assert head.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ml/models/"),
        ("GET", "/ML/MODELS"),
        ("GET", "/ml/Models"),
        ("GET", "//ml/models"),
        ("POST", "/ml/sentiment/"),
        ("POST", "/ML/SENTIMENT"),
        ("POST", "/ml/sentiment:BATCH"),
        ("GET", "/healthz/"),
    ],
)
def test_matches_paths_exactly_else_404(address: tuple[str, int], method: str, path: str) -> None:
    answer = request(address, method, path, b'{"text": "fine"}' if method == "POST" else None)
    assert answer.status == 404
    assert "location" not in answer.headers
    assert answer.problem()["detail"] == "No operation matches this request."


@pytest.mark.parametrize(
    "head",
    [
        b"GET /ml/models HTTP/1.1\r\n\r\n",
        b"GET /ml/models HTTP/1.1\r\nHost: ml\r\nHost: other\r\n\r\n",
        b"GET /ml/models HTTP/1.0\r\nHost: ml\r\nHost: other\r\n\r\n",
    ],
)
def test_refuses_a_missing_or_repeated_host_with_400(
    connection: socket.socket, head: bytes
) -> None:
    connection.sendall(head)
    answer = read_answer(connection)
    assert answer.status == 400
    assert "exactly one Host header" in answer.problem()["detail"]


def test_serves_http_1_0_without_host(connection: socket.socket) -> None:
    connection.sendall(b"GET /ml/models HTTP/1.0\r\n\r\n")
    assert read_answer(connection).status == 200


def test_answers_another_http_version_with_505(connection: socket.socket) -> None:
    connection.sendall(b"GET /ml/models HTTP/2.0\r\nHost: ml\r\n\r\n")
    assert_refused(connection, 505, "Only HTTP/1.0 and HTTP/1.1 are served.")
