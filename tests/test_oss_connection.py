"""Keep-alive connections stay sound when a bodiless request declares a body (issue 11, bug 11)."""

from __future__ import annotations

import http.client
import socket

import oss2
import pytest

from emulator.testing.server import LiveServer
from tests.oss_clients import oss2_bucket


@pytest.fixture
def public(emulator: LiveServer) -> oss2.Bucket:
    bucket = oss2_bucket(emulator, "media")
    bucket.create_bucket()
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    bucket.put_object("k.txt", b"hello")
    return bucket


def _read_until_closed(sock: socket.socket) -> bytes:
    """What arrives until the server closes (a reset too: it closed with our bytes unread)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_a_get_declaring_a_body_it_never_sends_does_not_poison_the_connection(
        emulator: LiveServer, public: oss2.Bucket) -> None:
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=30) as sock:
        sock.sendall(b"GET /media/k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
        answer = sock.recv(65536)
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 200") and b"connection: close" in head
        # The next request on this socket would have been read as the missing body: the server
        # closes instead of answering it with a bare 400.
        sock.sendall(b"GET /media/k.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        rest = _read_until_closed(sock)
        assert b"400 Bad Request" not in answer + rest


def test_a_keep_alive_client_reconnects_and_gets_a_real_answer(emulator: LiveServer, public) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=30)
    conn.putrequest("GET", "/media/k.txt")
    conn.putheader("Content-Length", "5")
    conn.endheaders()
    first = conn.getresponse()
    assert first.status == 200 and first.read() == b"hello"
    conn.request("GET", "/media/missing.txt")  # http.client saw Connection: close and reconnects
    second = conn.getresponse()
    assert second.status == 404 and second.getheader("x-oss-request-id")
    assert b"<Code>NoSuchKey</Code>" in second.read()
    conn.close()


def test_bodiless_requests_that_declare_no_body_keep_the_connection(emulator: LiveServer, public) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=30)
    for _ in range(3):
        conn.request("GET", "/media/k.txt", headers={"Content-Length": "0"})
        response = conn.getresponse()
        assert response.read() == b"hello" and response.getheader("connection") != "close"
    conn.close()
