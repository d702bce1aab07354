"""krblab.psrp - the PowerShell Remoting Protocol (MS-PSRP) side of the lab's WinRM stand-in.

Enough of a Windows PowerShell endpoint for pypsrp's ``RunspacePool`` (Ansible's psrp
connection) to open and close a runspace pool over WS-Management:

- Create on ``http://schemas.microsoft.com/powershell/<configuration name>`` with a
  ``creationXml`` (base64 PSRP fragments: SESSION_CAPABILITY + INIT_RUNSPACEPOOL);
- Receive, answered with SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA and RUNSPACEPOOL_STATE
  (Opened), as Windows sends them after a Create;
- Delete (closing the pool).

Wire format (MS-PSRP 2.2.4 and 2.2.1): a fragment is ObjectId (u64 BE), FragmentId (u64 BE),
flags (1 byte: S=1 start, E=2 end) and the blob length (u32 BE), then the blob; a message is
Destination (u32 LE: 1 client, 2 server), MessageType (u32 LE), the RunspacePool and pipeline
GUIDs (Windows' little-endian GUID layout) and the data: a UTF-8 BOM and CLIXML.

The module knows nothing about HTTP, GSSAPI or SOAP envelopes: :class:`PsrpService` answers a
parsed request with a :class:`Reply` (a body or a fault) and lab/krblab/standin.py wraps it.
"""

from __future__ import annotations

import base64
import dataclasses
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

RESOURCE_PREFIX = "http://schemas.microsoft.com/powershell/"
NS_PWSH = "http://schemas.microsoft.com/powershell"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
BOM = b"\xef\xbb\xbf"

DESTINATION_CLIENT = 1
DESTINATION_SERVER = 2

# MS-PSRP 2.2.1 MessageType values the stand-in reads or writes.
SESSION_CAPABILITY = 0x00010002
INIT_RUNSPACEPOOL = 0x00010004
RUNSPACEPOOL_STATE = 0x00021005
APPLICATION_PRIVATE_DATA = 0x00021009
MESSAGE_NAMES = {SESSION_CAPABILITY: "SESSION_CAPABILITY", INIT_RUNSPACEPOOL: "INIT_RUNSPACEPOOL",
                 RUNSPACEPOOL_STATE: "RUNSPACEPOOL_STATE",
                 APPLICATION_PRIVATE_DATA: "APPLICATION_PRIVATE_DATA"}

RUNSPACE_STATE_OPENED = 2   # MS-PSRP 2.2.3.4 RunspacePoolState

PROTOCOL_VERSION = "2.3"
SERIALIZATION_VERSION = "1.1.0.1"

#: The session configurations the stand-in has registered (WinRM's plugin catalog), by name as
#: Get-PSSessionConfiguration lists them, with the $PSVersionTable their runspace reports.
#: Windows PowerShell 5.1 on Server 2019 (the stand-in's ProductVersion is 10.0.17763), and the
#: endpoint `Enable-PSRemoting` registers from PowerShell 7.
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "Microsoft.PowerShell": {"PSVersion": "5.1.17763.1", "PSEdition": "Desktop",
                             "BuildVersion": "10.0.17763.1", "CLRVersion": "4.0.30319.42000"},
    "PowerShell.7": {"PSVersion": "7.4.6", "PSEdition": "Core", "BuildVersion": "",
                     "CLRVersion": ""},
}

# The fault Windows answers a Create on a configuration it does not have: code 2150858811
# (0x8033803B, ERROR_WSMAN_INVALID_RESOURCE_URI) with this reason, as pypsrp users report it
# (jborean93/pypsrp issues #41 and #47: "Received a WSManFault message. (Code: 2150858811,
# Machine: ..., Reason: The WS-Management service cannot process the request. The resource URI
# (http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found in the
# WS-Management catalog. ...") and Microsoft's Unregister-PSSessionConfiguration example shows
# it. PowerShell's own client words the same fault "Cannot find the <name> session
# configuration in the WSMan: drive". The SOAP subcode is DSP0226's for an unknown resource.
UNKNOWN_CONFIGURATION_CODE = 2150858811
UNKNOWN_CONFIGURATION_REASON = (
    "The WS-Management service cannot process the request. The resource URI (%s) was not found in "
    "the WS-Management catalog. The catalog contains the metadata that describes resources, or logical "
    "endpoints. ")

# A user without Invoke (Execute) on the configuration's security descriptor gets the same
# w:AccessDenied fault as one refused the cmd shell: WSManFault code 5 (ERROR_ACCESS_DENIED),
# "Access is denied. ", which PowerShell shows as "Connecting to remote server X failed with the
# following error message : Access is denied." (e.g. timmcmic/DLConversionV2 issue #89).
ACCESS_DENIED_CODE = 5
ACCESS_DENIED_REASON = "Access is denied. "

# A Receive with nothing to send: Windows holds it for OperationTimeout, then answers
# w:TimedOut, 2150858793 (ERROR_WSMAN_OPERATION_TIMEDOUT). The stand-in answers at once.
TIMED_OUT_CODE = 2150858793
TIMED_OUT_REASON = ("The WS-Management service cannot complete the operation within the time specified "
                    "in OperationTimeout.  ")


class PsrpError(ValueError):
    """A PSRP blob that does not parse."""


# ------------------------------------------------------------------ wire format

@dataclasses.dataclass(frozen=True)
class Fragment:
    object_id: int
    fragment_id: int
    start: bool
    end: bool
    blob: bytes

    def pack(self) -> bytes:
        flags = (1 if self.start else 0) | (2 if self.end else 0)
        return struct.pack(">QQBI", self.object_id, self.fragment_id, flags, len(self.blob)) + self.blob


def unpack_fragments(data: bytes) -> list[Fragment]:
    """Every fragment of DATA, in order; PsrpError when one is cut short."""
    out = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 21:
            raise PsrpError("fragment header cut short at byte %d" % pos)
        oid, fid, flags, length = struct.unpack_from(">QQBI", data, pos)
        pos += 21
        if len(data) - pos < length:
            raise PsrpError("fragment %d/%d: blob of %d bytes, %d left" % (oid, fid, length, len(data) - pos))
        out.append(Fragment(oid, fid, bool(flags & 1), bool(flags & 2), data[pos:pos + length]))
        pos += length
    return out


@dataclasses.dataclass(frozen=True)
class Message:
    destination: int
    message_type: int
    rpid: str             # upper-case GUID text
    pid: str
    data: bytes           # the CLIXML, without the BOM

    def pack(self) -> bytes:
        return (struct.pack("<II", self.destination, self.message_type) + uuid.UUID(self.rpid).bytes_le
                + uuid.UUID(self.pid).bytes_le + BOM + self.data)

    @property
    def name(self) -> str:
        return MESSAGE_NAMES.get(self.message_type, "0x%08X" % self.message_type)


def unpack_message(blob: bytes) -> Message:
    if len(blob) < 40:
        raise PsrpError("message of %d bytes, shorter than its 40-byte header" % len(blob))
    dest, mtype = struct.unpack_from("<II", blob)
    rpid = str(uuid.UUID(bytes_le=blob[8:24])).upper()
    pid = str(uuid.UUID(bytes_le=blob[24:40])).upper()
    data = blob[40:]
    return Message(dest, mtype, rpid, pid, data[3:] if data.startswith(BOM) else data)


def defragment(data: bytes) -> list[Message]:
    """The complete messages in DATA (fragments of one object must be in order)."""
    partial: dict[int, bytes] = {}
    out = []
    for f in unpack_fragments(data):
        if f.start:
            partial[f.object_id] = b""
        elif f.object_id not in partial:
            raise PsrpError("fragment %d/%d without its start" % (f.object_id, f.fragment_id))
        partial[f.object_id] += f.blob
        if f.end:
            out.append(unpack_message(partial.pop(f.object_id)))
    return out


def clixml_values(data: bytes) -> dict[str, str]:
    """The named primitive values (<I32 N="MinRunspaces">1</I32>, ...) anywhere in a CLIXML object."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise PsrpError("CLIXML does not parse: %s" % e) from None
    return {el.get("N", ""): (el.text or "") for el in root.iter() if el.get("N") and len(el) == 0}


# ------------------------------------------------------------------ server messages

def session_capability() -> bytes:
    return ('<Obj RefId="0"><MS><Version N="protocolversion">%s</Version><Version N="PSVersion">2.0</Version>'
            '<Version N="SerializationVersion">%s</Version></MS></Obj>'
            % (PROTOCOL_VERSION, SERIALIZATION_VERSION)).encode("utf-8")


def application_private_data(configuration: str) -> bytes:
    """$PSVersionTable in a PSPrimitiveDictionary, as a Windows endpoint sends it."""
    info = CONFIGURATIONS[configuration]
    table = [("PSVersion", "Version", info["PSVersion"]), ("PSEdition", "S", info["PSEdition"]),
             ("PSRemotingProtocolVersion", "Version", PROTOCOL_VERSION),
             ("SerializationVersion", "Version", SERIALIZATION_VERSION),
             ("WSManStackVersion", "Version", "3.0")]
    table += [(k, "Version", info[k]) for k in ("BuildVersion", "CLRVersion") if info[k]]
    entries = "".join('<En><S N="Key">%s</S><%s N="Value">%s</%s></En>' % (k, t, escape(v), t)
                      for k, t, v in table)
    return ('<Obj RefId="0"><MS><Obj N="ApplicationPrivateData" RefId="1"><TN RefId="0">'
            "<T>System.Management.Automation.PSPrimitiveDictionary</T><T>System.Collections.Hashtable</T>"
            '<T>System.Object</T></TN><DCT><En><S N="Key">PSVersionTable</S><Obj N="Value" RefId="2">'
            '<TNRef RefId="0" /><DCT>%s</DCT></Obj></En></DCT></Obj></MS></Obj>' % entries).encode("utf-8")


def runspace_pool_state(state: int) -> bytes:
    return ('<Obj RefId="0"><MS><I32 N="RunspaceState">%d</I32></MS></Obj>' % state).encode("utf-8")


# ------------------------------------------------------------------ the service

def configuration_of(resource_uri: str) -> str | None:
    """The configuration name of a PowerShell resource URI, None for any other URI."""
    if not resource_uri.lower().startswith(RESOURCE_PREFIX):
        return None
    return resource_uri[len(RESOURCE_PREFIX):]


def registered(name: str) -> str | None:
    """The registered configuration NAME means (WinRM matches resource URIs case-insensitively)."""
    return next((c for c in CONFIGURATIONS if c.lower() == name.lower()), None)


@dataclasses.dataclass
class Pool:
    """One runspace pool (a PowerShell shell in WinRM's terms)."""

    shell_id: str
    configuration: str
    client_capability: dict[str, str]
    init: dict[str, str]
    outbox: list[bytes]          # fragments the next Receive delivers
    next_object_id: int = 1

    def queue(self, message_type: int, data: bytes) -> None:
        msg = Message(DESTINATION_CLIENT, message_type, self.shell_id, str(uuid.UUID(int=0)).upper(), data)
        self.outbox.append(Fragment(self.next_object_id, 0, True, True, msg.pack()).pack())
        self.next_object_id += 1


@dataclasses.dataclass(frozen=True)
class Reply:
    """What a PowerShell request gets: a body for ACTION, or a fault (status 500)."""

    action: str = ""
    body: str = ""
    fault: tuple[str, str, str, int] | None = None    # code, subcode, reason, WSManFault code
    log: str = ""


def _fault(subcode: str, reason: str, code: int, log: str, sender: bool = True) -> Reply:
    return Reply(fault=("s:Sender" if sender else "s:Receiver", subcode, reason, code), log=log)


def _bad_creation(why: str) -> Reply:
    # Not verified against Windows (no client sends a broken creationXml): a w:InvalidParameter
    # fault with ERROR_WSMAN_INVALID_PARAMETER's code (approximate reason text).
    return _fault("w:InvalidParameter", "The WS-Management service cannot process the request because the "
                  "creationXml of the shell is not valid. ", 2150858778, "PSRP Create: %s" % why)


NS_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"


class PsrpService:
    """WinRM's PowerShell plugin: the runspace pools of one stand-in process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str, Pool] = {}

    def handles(self, resource_uri: str) -> bool:
        return configuration_of(resource_uri) is not None

    def handle(self, action: str, resource_uri: str, shell_id: str, body: ET.Element | None, *,
               deny: bool, address: str, owner: str, client_ip: str) -> Reply:
        """Answer one WS-Management request on a PowerShell resource URI."""
        name = configuration_of(resource_uri) or ""
        if action.endswith("/transfer/Create"):
            config = registered(name)
            if config is None:
                return _fault("w:DestinationUnreachable", UNKNOWN_CONFIGURATION_REASON % resource_uri,
                              UNKNOWN_CONFIGURATION_CODE, "PSRP Create: no session configuration %r" % name)
            if deny:
                return _fault("w:AccessDenied", ACCESS_DENIED_REASON, ACCESS_DENIED_CODE,
                              "PSRP Create on %s: access denied (knob psrpdeny)" % config)
            return self._create(config, resource_uri, body, address, owner, client_ip)
        with self._lock:
            pool = self._pools.get(shell_id)
        if pool is None:
            return _fault("w:InvalidSelectors",
                          "The request for the Windows Remote Shell with ShellId %s failed because the "
                          "shell was not found on the server. Possible causes are: the specified ShellId "
                          "is incorrect or the shell no longer exists on the server. Provide the correct "
                          "ShellId or create a new shell and retry the operation. " % shell_id, 2150858843,
                          "PSRP %s: no pool %s" % (action.rsplit("/", 1)[-1], shell_id))
        if action.endswith("/transfer/Delete"):
            with self._lock:
                self._pools.pop(shell_id, None)
            return Reply(NS_TRANSFER + "/DeleteResponse", "", log="PSRP pool %s closed" % shell_id)
        if action.endswith("/shell/Receive"):
            with self._lock:
                out, pool.outbox = pool.outbox, []
            if not out:
                return _fault("w:TimedOut", TIMED_OUT_REASON, TIMED_OUT_CODE, "PSRP Receive: nothing to send",
                              sender=False)
            # One rsp:Stream per message, as Windows sends them.
            streams = "".join('<rsp:Stream Name="stdout">%s</rsp:Stream>'
                              % base64.b64encode(f).decode("ascii") for f in out)
            return Reply(NS_RSP + "/ReceiveResponse",
                         "<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>" % streams,
                         log="PSRP Receive: %d messages" % len(out))
        if action.endswith("/shell/Signal"):
            return Reply(NS_RSP + "/SignalResponse", "<rsp:SignalResponse/>")
        return _fault("a:ActionNotSupported",
                      "The WS-Management service cannot process the request because the action is not "
                      "supported. ", 2150858771, "PSRP: action %s not modelled" % action)

    def _create(self, config: str, resource_uri: str, body: ET.Element | None, address: str, owner: str,
                client_ip: str) -> Reply:
        shell = body.find("{%s}Shell" % NS_RSP) if body is not None else None
        creation = shell.find("{%s}creationXml" % NS_PWSH) if shell is not None else None
        if shell is None or creation is None or not (creation.text or "").strip():
            return _bad_creation("no rsp:Shell/creationXml")
        try:
            messages = defragment(base64.b64decode(creation.text or "", validate=True))
            if [m.message_type for m in messages] != [SESSION_CAPABILITY, INIT_RUNSPACEPOOL]:
                return _bad_creation("creationXml holds %s" % ", ".join(m.name for m in messages))
            capability, init = (clixml_values(m.data) for m in messages)
        except (ValueError, PsrpError) as e:
            return _bad_creation("creationXml: %s" % e)
        # Windows keeps the client's ShellId (the RunspacePool id) for a PowerShell shell.
        shell_id = (shell.get("ShellId") or messages[0].rpid).upper()
        pool = Pool(shell_id, config, capability, init, [])
        pool.queue(SESSION_CAPABILITY, session_capability())
        pool.queue(APPLICATION_PRIVATE_DATA, application_private_data(config))
        pool.queue(RUNSPACEPOOL_STATE, runspace_pool_state(RUNSPACE_STATE_OPENED))
        with self._lock:
            self._pools[shell_id] = pool

        def text(local: str, default: str) -> str:
            el = shell.find("{%s}%s" % (NS_RSP, local))
            return (el.text or default).strip() if el is not None else default

        uri = RESOURCE_PREFIX + config
        reply = (
            "<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters>"
            "<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet>"
            '<w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            "</x:ResourceCreated>"
            "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:Name>Runspace1</rsp:Name>"
            "<rsp:ResourceUri>%s</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>%s</rsp:ClientIP>"
            "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>%s</rsp:InputStreams>"
            "<rsp:OutputStreams>%s</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
            "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
            % (escape(address), escape(uri), shell_id, shell_id, escape(uri), escape(owner),
               escape(client_ip), escape(text("InputStreams", "stdin pr")),
               escape(text("OutputStreams", "stdout"))))
        version = capability.get("protocolversion", "?")
        return Reply(NS_TRANSFER + "/CreateResponse", reply,
                     log="PSRP pool %s opened on %s (client protocol %s, runspaces %s..%s)"
                     % (shell_id, config, version, init.get("MinRunspaces", "?"),
                        init.get("MaxRunspaces", "?")))

