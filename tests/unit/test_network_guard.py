import socket

import pytest

from tests.conftest import InternetAccessBlocked


def test_reaching_the_internet_fails_the_test():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(InternetAccessBlocked):
            sock.connect(("93.184.215.14", 443))
    finally:
        sock.close()


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket()
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
