"""FaultProxy: the emulator acts, then the client is answered with something else, over real HTTP."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from airflow_provider_infakt.testing import FaultProxy, ProxyFault, connection_for
from airflow_provider_infakt.testing.proxy import OVERSIZE_BYTES, route_for

from .helpers import raw_http, v2_get, v3

EMAIL = "/invoices/1/deliver_via_email.json"
V2_DELIVER = "/invoices/deliver.json?type=mail&doc_type=KOPIA&id=1"


@pytest.fixture(scope="module")
def module_proxy(infakt_emulator_session):
    with FaultProxy(infakt_emulator_session.url) as proxy:
        yield proxy


@pytest.fixture
def proxy(module_proxy, infakt_emulator):
    module_proxy.reset()
    yield module_proxy
    module_proxy.reset()


@pytest.fixture
def conn(proxy):
    return connection_for(proxy.url)


@pytest.fixture
def v2conn(proxy):
    return connection_for(proxy.url, api_version="v2")


def send(conn, **kwargs):
    return v3(conn, "POST", EMAIL, json={"print_type": "copy"}, **kwargs)


def test_passes_requests_through_unchanged(infakt_emulator, proxy, conn, v2conn):
    direct = v3(infakt_emulator.connection(), "GET", "/invoices/2.json")
    through = v3(conn, "GET", "/invoices/2.json")
    assert (through.status_code, through.json()) == (200, direct.json())
    assert through.headers["Content-Type"] == direct.headers["Content-Type"]
    # a v2 request signed for the proxy's URL verifies upstream: path, query and Host arrive as sent
    response = v2_get(v2conn, V2_DELIVER)
    assert (response.status_code, response.json()) == (200, {"invoice": {"invoice_id": 1}})
    sent = send(conn)
    assert (sent.status_code, sent.content) == (202, b"")
    assert [(d.invoice_id, d.api_version) for d in infakt_emulator.deliveries] == [(1, "v2"), (1, "v3")]
    assert [(r.route, r.forwarded, r.upstream_status, r.client_status, r.fault) for r in proxy.records] == [
        ("v3.invoice", True, 200, 200, None),
        ("v2.deliver", True, 200, 200, None),
        ("v3.deliver_via_email", True, 202, 202, None),
    ]


def test_route_names_are_the_emulators(infakt_emulator, proxy, conn, v2conn):
    v3(conn, "GET", "/invoices.json")
    v3(conn, "GET", "/invoices/1.json")
    v3(conn, "POST", "/invoices/1/paid.json", json={})
    v3(conn, "POST", "/invoices/2/deliver_via_post.json", json={})
    requests.get(proxy.url + "/v3/invoices/1.json", headers={"X-inFakt-ApiKey": conn["password"]}, timeout=10)
    v2_get(v2conn, "/invoices/list.xml")
    v2_get(v2conn, "/invoices/3.json")
    requests.get(proxy.url + "/app/invoices/1", timeout=10)
    assert [r.route for r in proxy.records] == [r.route for r in infakt_emulator.requests]
    assert [r.path for r in proxy.records] == [r.path for r in infakt_emulator.requests]
    assert route_for("/_emulator/deliveries") == "admin"
    assert route_for("/favicon.ico") == "other"


# -- every kind: the emulator acted, the client saw the fault ------------------------------------------
def test_status_is_infakts_own_error_body(infakt_emulator, proxy, conn, v2conn):
    proxy.fault("v3.deliver_via_email", kind="status", status=503)
    response = send(conn)
    assert (response.status_code, response.json()) == (503, {"error": "Emulated proxy fault: HTTP 503"})
    proxy.fault("v2.deliver", kind="status")
    response = v2_get(v2conn, V2_DELIVER)
    assert response.status_code == 500
    assert response.json() == {"message": "Emulated proxy fault: HTTP 500", "request": "/api/v2" + V2_DELIVER}
    assert [d.api_version for d in infakt_emulator.deliveries] == ["v3", "v2"]
    assert [(r.upstream_status, r.client_status, r.fault) for r in proxy.records] == [
        (202, 503, "status"),
        (200, 500, "status"),
    ]


@pytest.mark.parametrize(
    ("status", "title"), [(502, "Bad Gateway"), (503, "Service Unavailable"), (504, "Gateway Timeout")]
)
def test_gateway_answers_with_an_html_page(infakt_emulator, proxy, conn, status, title):
    proxy.fault("v3.deliver_*", kind="gateway", status=status)
    response = send(conn)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<h1>{status} {title}</h1>" in response.text
    with pytest.raises(ValueError):
        response.json()
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]


def test_truncated_body_claims_more_than_it_sends(infakt_emulator, proxy, v2conn):
    proxy.fault("v2.deliver", kind="truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        v2_get(v2conn, V2_DELIVER)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    # on the wire: the upstream's status, a Content-Length past the end, half the body, then close
    full = v3(infakt_emulator.connection(), "GET", "/invoices/1.json").content
    proxy.fault("v3.invoice", kind="truncate")
    request = b"GET /api/v3/invoices/1.json HTTP/1.1\r\nHost: x\r\nX-inFakt-ApiKey: demo-api-key\r\n\r\n"
    status, headers, body = raw_http(proxy.url, request)
    assert status == 200
    assert int(headers["content-length"]) == len(full) + 1024
    assert body == full[: len(full) // 2]
    assert proxy.records[-1].fault == "truncate"


def test_truncated_empty_202(infakt_emulator, proxy, conn):
    proxy.fault("v3.deliver_via_email", kind="truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        send(conn)
    assert len(infakt_emulator.deliveries) == 1


def test_oversized_body(infakt_emulator, proxy, conn, v2conn):
    proxy.fault("v2.deliver", kind="oversize")
    response = v2_get(v2conn, V2_DELIVER)
    assert response.status_code == 200
    assert len(response.content) == OVERSIZE_BYTES > 10 * 1024 * 1024
    proxy.fault("v3.deliver_via_email", kind="oversize", size=12 * 1024 * 1024)
    assert len(send(conn).content) == 12 * 1024 * 1024
    assert len(infakt_emulator.deliveries) == 2


def test_malformed_body(infakt_emulator, proxy, v2conn):
    proxy.fault("v2.deliver", kind="malformed")
    response = v2_get(v2conn, V2_DELIVER)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    xml = connection_for(proxy.url, api_version="v2", format="xml")
    proxy.fault("v2.deliver", kind="malformed")
    response = v2_get(xml, V2_DELIVER.replace(".json", ".xml"))
    assert response.headers["Content-Type"].startswith("application/xml")
    import xml.parsers.expat

    import xmltodict

    with pytest.raises(xml.parsers.expat.ExpatError):
        xmltodict.parse(response.content)
    assert len(infakt_emulator.deliveries) == 2


def test_deeply_nested_json_body(infakt_emulator, proxy, v2conn):
    proxy.fault("v2.deliver", kind="deep_json")
    response = v2_get(v2conn, V2_DELIVER)
    assert response.status_code == 200
    assert response.content.startswith(b"[[[[") and len(response.content) == 200_000
    with pytest.raises(RecursionError):
        json.loads(response.content)
    assert len(infakt_emulator.deliveries) == 1


def test_drop_after_forwarding(infakt_emulator, proxy, conn):
    proxy.fault("v3.deliver_via_email", kind="drop_after")
    with pytest.raises(requests.ConnectionError):
        send(conn)
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    assert infakt_emulator.invoice(1)["status"] == "sent"
    (record,) = proxy.records
    assert (record.forwarded, record.upstream_status, record.client_status, record.fault) == (
        True,
        202,
        None,
        "drop_after",
    )


def test_drop_before_forwarding(infakt_emulator, proxy, conn):
    proxy.fault("v3.deliver_via_email", kind="drop_before")
    with pytest.raises(requests.ConnectionError):
        send(conn)
    assert infakt_emulator.deliveries == []
    assert infakt_emulator.requests == []
    assert proxy.forwarded == []
    assert [(r.route, r.forwarded, r.fault) for r in proxy.records] == [("v3.deliver_via_email", False, "drop_before")]


def test_delay_beyond_the_clients_timeout(infakt_emulator, proxy, conn):
    proxy.fault("v3.deliver_via_email", kind="delay", delay=1.5)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        send(conn, timeout=0.5)
    # inFakt acted at once, and the proxy has its answer; only the client's answer is late
    assert [d.invoice_id for d in infakt_emulator.deliveries] == [1]
    assert [(r.upstream_status, r.client_status, r.fault) for r in proxy.forwarded] == [(202, 202, "delay")]
    assert time.monotonic() - started < 1.4


def test_delay_combines_with_a_fault(infakt_emulator, proxy, conn):
    proxy.fault("v3.deliver_via_email", kind="gateway", status=504, delay=0.3)
    started = time.monotonic()
    assert send(conn).status_code == 504
    assert time.monotonic() - started >= 0.3


# -- arming -----------------------------------------------------------------------------------------------
def test_times_routes_and_paths(infakt_emulator, proxy, conn, v2conn):
    proxy.fault("v3.deliver_*", kind="status", times=2)
    assert [send(conn).status_code for _ in range(3)] == [500, 500, 202]
    proxy.fault("/api/v2/*", kind="gateway", times=None)
    assert v3(conn, "GET", "/invoices/1.json").status_code == 200
    assert v2_get(v2conn, "/invoices/1.json").status_code == 502
    assert v2_get(v2conn, "/invoices/2.json").status_code == 502
    proxy.clear_faults()
    assert v2_get(v2conn, "/invoices/2.json").status_code == 200
    assert len(infakt_emulator.deliveries) == 3


def test_emulator_faults_and_proxy_faults_stack(infakt_emulator, proxy, conn):
    infakt_emulator.fault("v3.deliver_via_email", processing_delay=0.2)
    proxy.fault("v3.deliver_via_email", kind="status", status=502)
    assert send(conn).status_code == 502
    assert len(infakt_emulator.deliveries) == 1


def test_upstream_that_does_not_answer_is_a_502(infakt_emulator):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{free_port}") as proxy:
        response = requests.get(proxy.url + "/api/v3/invoices/1.json", timeout=10)
        assert response.status_code == 502
        assert "Bad Gateway" in response.text
        assert proxy.records[0].upstream_status is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "teleport"}, "kind='teleport' is not one of"),
        ({"kind": "status", "status": 404}, "status=404 is not allowed with kind='status'"),
        ({"kind": "gateway", "status": 500}, "status=500 is not allowed with kind='gateway'"),
        ({"kind": "truncate", "status": 500}, "status goes with kind 'status' or 'gateway'"),
        ({"kind": "delay"}, "needs delay > 0"),
        ({"kind": "drop_before", "delay": 1.0}, "drop_before forwards nothing"),
        ({"kind": "malformed", "size": 10}, "size goes with kind='oversize'"),
        ({"kind": "status", "times": 0}, "times=0 must be"),
        ({"kind": "status", "delay": float("nan")}, "delay must be a non-negative number"),
        ({"kind": "status", "route": ""}, "route must be a non-empty string"),
    ],
)
def test_fault_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProxyFault(**{"route": "*", **kwargs})


@pytest.mark.parametrize(
    ("upstream", "host", "message"),
    [
        ("http://10.0.0.1:8080", "127.0.0.1", "forwards to loopback only"),
        ("http://example.com:80", "127.0.0.1", "forwards to loopback only"),
        ("https://127.0.0.1:443", "127.0.0.1", "upstream must be http://"),
        ("http://127.0.0.1:8080/api/v3", "127.0.0.1", "no path"),
        ("http://127.0.0.1:8080", "0.0.0.0", "listens on loopback only"),  # noqa: S104 (refused)
        ("http://127.0.0.1:8080", "192.168.1.10", "listens on loopback only"),
    ],
)
def test_loopback_only(upstream, host, message):
    with pytest.raises(ValueError, match=message):
        FaultProxy(upstream, host=host)


def test_localhost_and_ipv6_loopback_are_loopback(infakt_emulator):
    with FaultProxy(infakt_emulator.url.replace("127.0.0.1", "localhost"), host="localhost") as proxy:
        assert proxy.url.startswith("http://localhost:")
        assert v3(connection_for(proxy.url), "GET", "/invoices/1.json").status_code == 200
    assert FaultProxy("http://[::1]:8080").upstream == "http://[::1]:8080"


def test_a_drop_after_processing_upstream_is_forwarded_once(infakt_emulator):
    """The proxy's own HTTP client must not resend an idempotent request when the upstream drops it."""
    import requests

    with FaultProxy(infakt_emulator.url) as proxy:
        session = requests.Session()
        session.get(f"{proxy.url}/api/v3/invoices/1.json", headers={"X-inFakt-ApiKey": "demo-api-key"})
        infakt_emulator.fault("v3.invoice", drop="after")
        status = session.get(f"{proxy.url}/api/v3/invoices/1.json", headers={"X-inFakt-ApiKey": "demo-api-key"})
        assert status.status_code == 502
        assert [r.status for r in infakt_emulator.requests] == [200, None]


def test_replay_forwards_twice_and_answers_with_the_second(infakt_emulator):
    import requests

    with FaultProxy(infakt_emulator.url) as proxy:
        proxy.fault("v3.invoice", kind="replay")
        answer = requests.get(f"{proxy.url}/api/v3/invoices/1.json", headers={"X-inFakt-ApiKey": "demo-api-key"})
        assert answer.status_code == 200
        assert [r.route for r in infakt_emulator.requests] == ["v3.invoice", "v3.invoice"]
        assert [r.fault for r in proxy.records] == ["replay", "replay"]
