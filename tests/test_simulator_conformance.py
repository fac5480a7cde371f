"""The simulator's answers, checked against the provider's own API description (its Swagger spec).

The spec is the provider's, not ours, and is not redistributed with this package: the test
reads it from ``$ZOOMCONNECT_SWAGGER`` (CI points it at ``../shared/reference/``), or from that
folder next to the repository, and skips saying so when it is absent. Every operation in the
spec is called (through the in-process adapter: the answer is what a socket would carry), and
each JSON answer is checked against the definition the spec gives for its status: types of
every field, recursively, and no field the spec does not define. The same holds for the XML the
simulator answers when no format is asked for (the provider's default). Every test runs with
both ways the simulator can write dates (epoch milliseconds and ISO 8601).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.adapter import SimulatorAdapter

NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "reference" / "zoomconnect-swagger.yaml"
BASE = "http://simulator.zoomconnect.invalid/app"
NUMBER = "+27821234567"


def spec_path() -> Path:
    return Path(os.environ.get("ZOOMCONNECT_SWAGGER") or DEFAULT_SPEC)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    path = spec_path()
    if not path.is_file():
        pytest.skip(
            f"the provider's Swagger spec is not at {path}: it is third-party reference data, not "
            "redistributed with this package; set ZOOMCONNECT_SWAGGER to its path to run this test"
        )
    yaml = pytest.importorskip("yaml", reason="PyYAML (in the test extra) reads the spec")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there: 10x faster
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return loaded


# --- a small validator for the Swagger 2.0 subset the spec uses ------------------------------


def violations(
    value: Any, schema: dict[str, Any], spec: dict[str, Any], where: str, *, epoch: bool
) -> list[str]:
    """What is wrong with ``value`` against ``schema`` (empty when it conforms).

    ``null`` is accepted anywhere (the provider writes absent values as ``null``); with
    ``epoch`` a date-time may be epoch milliseconds (the simulator's default, see its docs).
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return violations(value, spec["definitions"][name], spec, f"{where}<{name}>", epoch=epoch)
    if value is None:
        return []
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind is None:
        return []  # {} (Void, untyped array items): anything goes
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        properties = schema.get("properties", {})
        problems = [f"{where}.{key}: not defined by the spec" for key in value if key not in properties]
        for key, item in value.items():
            if key in properties:
                problems += violations(item, properties[key], spec, f"{where}.{key}", epoch=epoch)
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {value!r}"]
        problems = []
        for index, item in enumerate(value):
            problems += violations(item, schema.get("items", {}), spec, f"{where}[{index}]", epoch=epoch)
        return problems
    if kind == "string":
        if isinstance(value, str):
            return []
        if epoch and schema.get("format") == "date-time" and type(value) is int:
            return []
        return [f"{where}: expected a string, got {value!r}"]
    if kind == "integer":
        return [] if type(value) is int else [f"{where}: expected an integer, got {value!r}"]
    if kind == "number":
        return [] if type(value) in (int, float) else [f"{where}: expected a number, got {value!r}"]
    if kind == "boolean":
        return [] if type(value) is bool else [f"{where}: expected a boolean, got {value!r}"]
    return [f"{where}: the validator does not know type {kind!r}"]


def test_the_validator_catches_what_it_should(spec: dict[str, Any]) -> None:
    contact = {"$ref": "#/definitions/WebServiceContact"}
    assert violations({"contactId": "1", "links": []}, contact, spec, "c", epoch=False) == []
    assert violations({"contactId": 1}, contact, spec, "c", epoch=False) == [
        "c<WebServiceContact>.contactId: expected a string, got 1"
    ]
    assert violations({"nickname": "x"}, contact, spec, "c", epoch=False) == [
        "c<WebServiceContact>.nickname: not defined by the spec"
    ]
    message = {"$ref": "#/definitions/WebServiceMessage"}
    assert violations({"dateTimeSent": 1700000000000}, message, spec, "m", epoch=True) == []
    assert violations({"dateTimeSent": 1700000000000}, message, spec, "m", epoch=False) != []
    assert violations({"numberOfMessages": True}, message, spec, "m", epoch=False) != []
    assert violations([1], {"type": "array", "items": {"type": "string"}}, spec, "a", epoch=False) != []
    assert violations(2.5, {"type": "number"}, spec, "n", epoch=False) == []
    assert violations("x", {"type": "boolean"}, spec, "b", epoch=False) != []


def xml_violations(
    element: ET.Element, schema: dict[str, Any], spec: dict[str, Any], where: str
) -> list[str]:
    """What is wrong with an XML ``element`` against ``schema`` (the XML form of :func:`violations`).

    A list is a wrapper element with one child per item; ``xsi:nil`` is ``null``; leaves are
    text, checked to parse as the schema's type (a date-time may be epoch milliseconds).
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return xml_violations(element, spec["definitions"][name], spec, f"{where}<{name}>")
    if element.get(NIL) == "true":
        return [] if len(element) == 0 and not element.text else [f"{where}: nil with content"]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind is None:
        return []
    if kind in ("object", "array"):
        if element.text and element.text.strip():
            return [f"{where}: expected elements, got text {element.text!r}"]
        problems = []
        for child in element:
            if kind == "object":
                properties = schema.get("properties", {})
                if child.tag not in properties:
                    problems.append(f"{where}.{child.tag}: not defined by the spec")
                    continue
                problems += xml_violations(child, properties[child.tag], spec, f"{where}.{child.tag}")
            else:
                problems += xml_violations(child, schema.get("items", {}), spec, f"{where}[{child.tag}]")
        return problems
    if len(element):
        return [f"{where}: expected text, got elements"]
    text = element.text or ""
    parses = {
        "string": lambda: True,
        "integer": lambda: str(int(text)) == text,
        "number": lambda: float(text) == float(text),
        "boolean": lambda: text in ("true", "false"),
    }
    try:
        ok = parses[kind]()
    except (KeyError, ValueError):
        ok = False
    return [] if ok else [f"{where}: {text!r} is not a valid {kind}"]


def test_the_xml_validator_catches_what_it_should(spec: dict[str, Any]) -> None:
    def check(text: str, name: str) -> list[str]:
        element = ET.fromstring(text)  # noqa: S314 - literals below
        return xml_violations(element, {"$ref": f"#/definitions/{name}"}, spec, "x")

    nil = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    good = f"<c {nil}><contactId>1</contactId><title xsi:nil='true'/><links></links></c>"
    assert check(good, "WebServiceContact") == []
    assert check("<c><nickname>x</nickname></c>", "WebServiceContact") == [
        "x<WebServiceContact>.nickname: not defined by the spec"
    ]
    assert check("<t><templateId>one</templateId></t>", "WebServiceTemplate") != []
    assert check("<m><read>yes</read></m>", "WebServiceMessage") != []
    assert check("<a><creditBalance>1.5</creditBalance></a>", "WebServiceAccount") == []
    assert check("<a><links><link><rel>x</rel></link></links></a>", "WebServiceAccount") == []
    assert check("<a><links>text</links></a>", "WebServiceAccount") != []


# --- calling every operation -------------------------------------------------------------------


class Account:
    """A simulator with one of everything, and a session that reaches it in-process."""

    def __init__(self, date_format: str) -> None:
        self.sim = Simulator(clock=Clock(frozen=True), date_format=date_format)  # type: ignore[arg-type]
        self.session = requests.Session()
        self.session.mount(BASE, SimulatorAdapter(self.sim))
        self.session.headers.update(
            {"email": self.sim.email, "token": self.sim.token, "Accept": "application/json"}
        )
        self.contact = self.json("POST", "contacts/create", {"contactNumber": NUMBER, "firstName": "A"})[
            "contactId"
        ]
        self.group = self.json("POST", "groups/create", {"name": "G"})["groupId"]
        self.message = self.json("POST", "sms/send", {"recipientNumber": NUMBER, "message": "hi"})[
            "messageId"
        ]
        self.sim.advance(60)
        self.inbound = self.sim.simulate_inbound(NUMBER, "reply", reply_to_message_id=self.message)
        self.template = self.sim.seed_template("T", "Hello {name}")
        self.user = self.json(
            "PUT",
            "account/user",
            {
                "emailAddress": "sub@example.com",
                "firstName": "S",
                "lastName": "U",
                "contactNumber": "+27831234567",
                "password": "pw",
            },
        )["userId"]
        self.voice = self.json("POST", "voice/single-text", {"recipientNumber": NUMBER, "message": "hi"})[
            "voiceMessageId"
        ]

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> requests.Response:
        return self.session.request(method, f"{BASE}/api/rest/v1/{path}", json=body, timeout=5, **options)

    def json(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.ok, (path, response.status_code, response.text)
        return response.json()

    def path_for(self, template: str) -> str:
        return (
            template.replace("{contactId}", self.contact)
            .replace("{groupId}", self.group)
            .replace("{userId}", str(self.user))
            .replace("{templateId}", str(self.template))
            .replace("{token}", self.sim.url_sending_token)
            .replace("voice/{messageId}", f"voice/{self.voice}")
            .replace("{messageId}", self.inbound)
        )


SEND = {"recipientNumber": NUMBER, "message": "Hello", "campaign": "c", "dataField": "d"}
ANALYSE = {"message": "Hello there", "recipientNumber": NUMBER}

#: The request body (or other ``requests`` options) of each operation that needs one.
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "account/transfer"): {
        "json": {
            "transferFromEmailAddress": "simulator@example.com",
            "transferToEmailAddress": "sub@example.com",
            "numberOfCreditsToTransfer": 5,
        }
    },
    ("GET", "account/user"): {"params": {"searchEmail": "simulator@example.com"}},
    ("PUT", "account/user"): {
        "json": {
            "emailAddress": "new@example.com",
            "firstName": "N",
            "lastName": "U",
            "contactNumber": "+27841234567",
            "password": "pw",
        }
    },
    ("POST", "account/user/{userId}"): {"json": {"firstName": "Renamed"}},
    ("GET", "account/statistics"): {"params": {"includeRefundedAndOptout": "true"}},
    ("POST", "contacts/create"): {"json": {"contactNumber": "+27831234567", "lastName": "B", "title": "Ms"}},
    ("POST", "contacts/{contactId}"): {"json": {"firstName": "Renamed"}},
    ("POST", "groups/create"): {"json": {"name": "New"}},
    ("POST", "groups/{groupId}"): {"json": {"name": "Renamed"}},
    ("GET", "messages/all"): {"params": {"page": "1", "pageSize": "10"}},
    ("POST", "sms/send"): {"json": SEND},
    ("POST", "sms/send-bulk"): {
        "json": {"sendSmsRequests": [SEND, {**SEND, "recipientNumber": "+27600000005"}]}
    },
    ("GET", "sms/send-url-parameters"): {"params": SEND},
    ("POST", "sms/send-url-parameters"): {"params": SEND},
    ("GET", "sms/send-url/{token}"): {"params": SEND},
    ("POST", "sms/send-url/{token}"): {"params": SEND},
    ("POST", "voice/single-text"): {"json": {"recipientNumber": NUMBER, "message": "Hi", "language": "en"}},
    ("POST", "voice/single-audio"): {
        "files": {"file": ("hello.mp3", b"ID3", "audio/mpeg")},
        "params": {"recipientNumber": NUMBER},
    },
}
for _name in ("full", "message-credit-cost", "message-encoding", "message-length",
              "message-length-within-max-allowed", "number-of-messages"):  # fmt: skip
    REQUESTS[("POST", f"messages/analyse/{_name}")] = {"json": ANALYSE}

#: Deletions run last, so that the other operations still find what they need.
DELETES_LAST = 1


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path.removeprefix("/api/rest/v1/"), operation))
    found.sort(key=lambda item: item[0] == "DELETE")
    yield from found


def answers(
    account: Account, spec: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any], requests.Response]]:
    """Call every operation of the spec once; each one's name, spec entry and answer."""
    for method, template, operation in operations(spec):
        options = dict(REQUESTS.get((method, template), {}))
        if "files" in options:
            account.session.headers.pop("Content-Type", None)
        response = account.call(method, account.path_for(template), options.pop("json", None), **options)
        yield f"{method} {template}", operation, response


@pytest.fixture(params=["epoch", "iso"])
def date_format(request: pytest.FixtureRequest) -> str:
    """Both ways the simulator writes dates in JSON: every test here runs with each."""
    return str(request.param)


def test_every_operation_answers_as_the_spec_describes(spec: dict[str, Any], date_format: str) -> None:
    account = Account(date_format)
    problems: list[str] = []
    called = 0
    for where, operation, response in answers(account, spec):
        called += 1
        listed = operation.get("responses", {})
        if str(response.status_code) not in listed:
            problems.append(
                f"{where}: status {response.status_code} is not one the spec lists ({', '.join(listed)})"
            )
            continue
        schema = (listed[str(response.status_code)] or {}).get("schema")
        if schema is None or not response.content:
            continue
        if schema.get("type") == "string" and not response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            continue  # a plain-text answer (send-url-parameters: the message id)
        try:
            body = response.json()
        except ValueError:
            problems.append(f"{where}: the answer is not JSON: {response.text[:80]!r}")
            continue
        problems += violations(body, schema, spec, where, epoch=date_format == "epoch")
    assert called == sum(len(methods) for methods in spec["paths"].values())
    assert problems == []


def test_every_operation_answers_xml_as_the_spec_describes(spec: dict[str, Any], date_format: str) -> None:
    account = Account(date_format)
    del account.session.headers["Accept"]  # no format asked for: the provider's default, XML
    problems: list[str] = []
    xml_answers = 0
    for where, operation, response in answers(account, spec):
        schema = (operation.get("responses", {}).get(str(response.status_code)) or {}).get("schema")
        if not response.ok:
            problems.append(f"{where}: status {response.status_code}")
            continue
        if schema is None or not response.content:
            continue
        if schema.get("type") == "string" and response.headers["Content-Type"].startswith("text/plain"):
            continue  # send-url-parameters and send-url: the message id as plain text
        if not response.headers["Content-Type"].startswith("application/xml"):
            problems.append(f"{where}: answered {response.headers['Content-Type']}, not XML")
            continue
        root = ET.fromstring(response.content)  # noqa: S314 - the simulator's answer
        xml_answers += 1
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if root.tag != name[0].lower() + name[1:]:
                problems.append(f"{where}: root element <{root.tag}>, not named after {name}")
        problems += xml_violations(root, schema, spec, where)
    assert xml_answers >= 30
    assert problems == []


def test_errors_answer_the_spec_error_object(spec: dict[str, Any], date_format: str) -> None:
    account = Account(date_format)
    error = {"$ref": "#/definitions/RestErrorDTO"}
    bad_number = account.call("POST", "sms/send", {"recipientNumber": "+27600000005", "message": "x"})
    empty = account.call("POST", "sms/send", {"recipientNumber": NUMBER, "message": ""})
    missing = account.call("GET", "contacts/nope")
    account.session.headers["token"] = "wrong"
    unauthorised = account.call("GET", "account/balance")
    answers = {400: bad_number, 401: unauthorised, 404: missing}
    for status, response in answers.items():
        assert response.status_code == status
        assert violations(response.json(), error, spec, str(status), epoch=False) == []
    assert (bad_number.json()["code"], empty.json()["code"]) == (2, 3)
    assert json.loads(unauthorised.content)["status"] == "UNAUTHORIZED"
