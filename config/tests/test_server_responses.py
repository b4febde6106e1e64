"""The production server's responses (config/serve.py HeadWithBodyResponse): the head goes
out in the same send as the body's first bytes, or on its own when there is no body, a
streamed body or a file; what reaches the client is the HTTP gunicorn would have sent."""
import http.client
import io
import os
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.http.wsgi import FileWrapper

from config.serve import HeadWithBodyResponse


class RecordingSocket:
    def __init__(self):
        self.sends = []

    def sendall(self, data):
        self.sends.append(bytes(data))

    def sendfile(self, file, offset=0, count=None):
        file.seek(offset)
        self.sends.append(file.read(count))


def _response(method="GET", version=(1, 1)):
    request = SimpleNamespace(method=method, version=version, should_close=lambda: False)
    sock = RecordingSocket()
    return HeadWithBodyResponse(request, sock, Config()), sock


def _parsed(sends, method="GET"):
    """The bytes sent, read back by the standard library's HTTP client."""
    raw = b"".join(sends)
    response = http.client.HTTPResponse(SimpleNamespace(makefile=lambda *a, **k: io.BytesIO(raw)), method=method)
    response.begin()
    return response.status, dict(response.getheaders()), response.read()


def test_a_body_of_known_length_goes_out_with_its_head_in_one_send():
    response, sock = _response()
    response.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")])
    response.write(b'{"ok":true}')
    response.close()
    assert len(sock.sends) == 1 and sock.sends[0].startswith(b"HTTP/1.1 200 OK\r\n")
    status, headers, body = _parsed(sock.sends)
    assert (status, headers["Content-Type"], headers["Connection"], body) == (200, "application/json", "keep-alive", b'{"ok":true}')


def test_a_later_part_of_the_body_is_sent_as_it_comes():
    response, sock = _response()
    response.start_response("200 OK", [("Content-Length", "6")])
    response.write(b"abc")
    response.write(b"def")
    response.close()
    assert len(sock.sends) == 2 and sock.sends[1] == b"def"
    assert _parsed(sock.sends)[2] == b"abcdef"


@pytest.mark.parametrize("method, status", [("HEAD", "200 OK"), ("GET", "204 No Content"), ("GET", "304 Not Modified")])
def test_a_response_without_a_body_sends_its_head_when_it_ends(method, status):
    response, sock = _response(method)
    response.start_response(status, [("Content-Length", "0")] if status.startswith("200") else [])
    response.write(b"")
    assert sock.sends == []
    response.close()
    assert len(sock.sends) == 1 and sock.sends[0].startswith(f"HTTP/1.1 {status}\r\n".encode())
    assert _parsed(sock.sends, method)[0] == int(status[:3])


def test_a_streamed_body_gets_its_head_first_then_chunks():
    response, sock = _response()
    response.start_response("200 OK", [("Content-Type", "text/csv")])
    for part in (b"a,b\r\n", b"1,2\r\n"):
        response.write(part)
    response.close()
    assert sock.sends[0].endswith(b"\r\n\r\n") and b"Transfer-Encoding: chunked" in sock.sends[0]
    assert _parsed(sock.sends)[2] == b"a,b\r\n1,2\r\n"


def test_a_file_sent_with_sendfile_gets_its_head_first(tmp_path):
    path = tmp_path / "static.css"
    path.write_bytes(b"body{color:red}")
    response, sock = _response()
    response.start_response("200 OK", [("Content-Length", str(path.stat().st_size))])
    with open(path, "rb") as file:
        response.write_file(FileWrapper(file))
    response.close()
    assert sock.sends[0].startswith(b"HTTP/1.1 200 OK") and sock.sends[0].endswith(b"\r\n\r\n")
    assert _parsed(sock.sends)[2] == b"body{color:red}"
    assert os.path.exists(path)
