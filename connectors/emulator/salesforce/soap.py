"""The SOAP login call simple-salesforce makes: POST /services/Soap/u/{version}.

Answers the partner API loginResponse (sessionId, serverUrl on this emulator) or the real
INVALID_LOGIN fault (HTTP 500, sf:exceptionCode / sf:exceptionMessage as login.py parses).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from connectors.emulator.salesforce.http import version_of
from connectors.emulator.salesforce.records import ORG_ID
from connectors.emulator.salesforce.state import SalesforceState

_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail>\
<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>\
<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>\
</soapenv:Body></soapenv:Envelope>"""

_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{base}/services/Soap/m/{version}/{org}</metadataServerUrl>\
<passwordExpired>false</passwordExpired><sandbox>true</sandbox>\
<serverUrl>{base}/services/Soap/u/{version}/{org}</serverUrl>\
<sessionId>{session}</sessionId><userId>{user}</userId><userInfo>\
<organizationId>{org}</organizationId><userName>{username}</userName></userInfo>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""


def _xml(body: str, status: int) -> Response:
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


def fault(code: str, message: str) -> Response:
    return _xml(_FAULT.format(code=code, message=escape(message)), 500)


def _text(root: ET.Element, local: str) -> str | None:
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == local:
            return element.text or ""
    return None


async def login(request: Request, state: SalesforceState) -> Response:
    version = version_of("v" + request.path_params.get("version", ""))
    if version is None:
        return fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return fault("INVALID_REQUEST", "Unable to parse the SOAP envelope")
    username, password = _text(root, "username"), _text(root, "password")
    if username is None or password is None:
        return fault(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    session = state.login(username, password)
    if session is None:
        return fault(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    base = f"{request.url.scheme}://{request.url.netloc}"
    return _xml(
        _OK.format(
            base=base,
            version=version,
            org=ORG_ID,
            session=escape(session),
            user=state.default_user_id,
            username=escape(username),
        ),
        200,
    )
