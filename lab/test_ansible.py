"""lab/test_ansible.py - krbprobe as an Ansible module (playbooks/) against the lab.

Runs the real ansible-playbook (ansible-core from PyPI, lab/ansible-venv.sh) with
playbooks/diagnose.yml and playbooks/investigate.yml, the action plugin and the static krbprobe
binary as the module (playbooks/install-module.sh), the credential given the AWX way
(-u PRINCIPAL --connection-password-file FILE) or in the inventory:

- a healthy host passes; broken hosts fail with krbprobe's code and hint in Ansible's output;
- the same over the psrp connection (ansible_connection=psrp): a healthy host passes probed as
  pypsrp connects (a runspace pool), every psrp scenario of lab/scenarios.toml, written as
  ansible_psrp_* variables, fails or passes through ansible-playbook with the code and hint the
  binary gives it, and each ansible_psrp_* variable changes the verdict as it changes pypsrp's;
- the module run directly answers exactly one JSON object and never returns the password;
- the password appears nowhere in ansible-playbook's output, even with -vvv, nor in files
  Ansible leaves behind;
- krbprobe's verdict agrees with the real winrm connection (a raw task over WinRM, i.e. kinit
  + pywinrm as Ansible drives them) for each way an inventory can be wrong;
- investigate.yml shows the pod's krb5.conf mount, contents, kinit and uid;
- ansible-lint (production profile, offline) passes and ansible-doc reads the sidecar docs.

Run inside the lab with the venv of lab/ansible-venv.sh:
    venv=$(lab/ansible-venv.sh)
    playbooks/install-module.sh
    lab/run -q -- "$venv/bin/pytest" -q lab/test_ansible.py
Outside the lab every test is skipped.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

IN_LAB = os.environ.get("KRBPROBE_LAB") == "1"
pytestmark = pytest.mark.skipif(not IN_LAB,
                                reason="not inside the lab: lab/run -- VENV/bin/pytest lab/test_ansible.py")

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"
MODULE = PLAYBOOKS / "library" / "krbprobe"
VENV_BIN = Path(sys.executable).parent
DOMAIN = os.environ.get("KRBPROBE_LAB_DOMAIN", "kurokobo.internal")
REALM = os.environ.get("KRBPROBE_LAB_REALM", "KUROKOBO.INTERNAL")
PASSWORD = os.environ.get("KRBPROBE_LAB_PASSWORD", "")
PRINCIPAL = "awx@" + REALM
CA_CERT = os.environ.get("KRBPROBE_LAB_CA_CERT", "")
# A wrong password nothing else contains: if it shows up anywhere, it leaked.
MARKER = "Wr0ng-Marker-7f3c9a1e!"
CHECK_ORDER = ["ee-runtime", "krb5-conf", "principal", "ansible-connection", "dns-kdc", "dns-target",
               "kdc-reach", "winrm-http", "kinit", "spn-ticket", "winrm-auth"]

WIN01 = "kuro-win01." + DOMAIN
WINDOWS_VARS = textwrap.dedent("""\
    [windows:vars]
    ansible_connection=winrm
    ansible_port=5985
    ansible_winrm_transport=kerberos
    """)

# Writes every krbprobe and raw task result as one JSON line to $KRBPROBE_CAPTURE, so that the
# tests read the module's JSON without parsing the screen output.
CAPTURE_CALLBACK = textwrap.dedent('''\
    from __future__ import annotations
    import json, os
    from ansible.plugins.callback import CallbackBase

    class CallbackModule(CallbackBase):
        CALLBACK_VERSION = 2.0
        CALLBACK_TYPE = "aggregate"
        CALLBACK_NAME = "krbprobe_capture"
        CALLBACK_NEEDS_ENABLED = True

        def _capture(self, result, status):
            action = result.task.action.split(".")[-1]
            if action in ("krbprobe", "raw"):
                with open(os.environ["KRBPROBE_CAPTURE"], "a") as f:
                    f.write(json.dumps({"host": result.host.name, "action": action, "status": status,
                                        "result": dict(result.result)}, default=str) + "\\n")

        def v2_runner_on_ok(self, result):
            self._capture(result, "ok")

        def v2_runner_on_failed(self, result, ignore_errors=False):
            self._capture(result, "failed")

        def v2_runner_on_unreachable(self, result):
            self._capture(result, "unreachable")
    ''')


@dataclass
class Run:
    """One ansible-playbook run: exit status, all it printed, what the callback captured."""
    rc: int
    out: str
    results: list[dict[str, Any]] = field(default_factory=list)
    tmp: Path = Path()

    def result(self, host: str, action: str = "krbprobe") -> dict[str, Any]:
        found = [r["result"] for r in self.results if r["host"] == host and r["action"] == action]
        assert len(found) == 1, (host, action, self.out)
        return found[0]


@pytest.fixture(scope="session")
def module() -> Path:
    """The release binary installed as playbooks/library/krbprobe."""
    p = subprocess.run([str(PLAYBOOKS / "install-module.sh")], capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    assert os.access(MODULE, os.X_OK)
    return MODULE


@pytest.fixture(scope="session")
def callbacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("callbacks")
    (d / "krbprobe_capture.py").write_text(CAPTURE_CALLBACK)
    return d


def ansible_env(tmp: Path, callbacks: Path) -> dict[str, str]:
    """ansible-playbook's environment: the venv and the lab's MIT tools (kinit) on PATH, the
    playbooks' ansible.cfg, Ansible's own dirs in tmp, the capture callback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(var, None)
    env.update({
        "PATH": "%s:%s:%s" % (VENV_BIN, os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"),
                              env.get("PATH", "/usr/bin:/bin")),
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "local-tmp"),
        "ANSIBLE_REMOTE_TMP": str(tmp / "remote-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACK_PLUGINS": str(callbacks),
        "ANSIBLE_CALLBACKS_ENABLED": "krbprobe_capture",
        "KRBPROBE_CAPTURE": str(tmp / "capture.jsonl"),
    })
    return env


def playbook(tmp: Path, callbacks: Path, inventory: str, *args: str, book: str = "diagnose.yml",
             password: str | None = PASSWORD, user: str | None = PRINCIPAL, prefix: list[str] | None = None,
             env: dict[str, str] | None = None) -> Run:
    """ansible-playbook BOOK against INVENTORY, credential the AWX way (-u and a password file)."""
    (tmp / "inventory.ini").write_text(inventory)
    cmd = [*(prefix or []), str(VENV_BIN / "ansible-playbook"), "-i", str(tmp / "inventory.ini"), book, *args]
    if user is not None:
        cmd += ["-u", user]
    if password is not None:
        pw = tmp / "secrets" / "connection-password"
        pw.parent.mkdir(mode=0o700, exist_ok=True)
        pw.write_text(password + "\n")
        pw.chmod(0o600)
        cmd += ["--connection-password-file", str(pw)]
    capture = tmp / "capture.jsonl"
    capture.unlink(missing_ok=True)
    p = subprocess.run(cmd, cwd=PLAYBOOKS, env=ansible_env(tmp, callbacks) | (env or {}), capture_output=True,
                       text=True, timeout=300, check=False)
    results = [json.loads(line) for line in capture.read_text().splitlines()] if capture.exists() else []
    return Run(p.returncode, p.stdout + p.stderr, results, tmp)


def failures(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["status"] == "fail"]


def finding(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    """The one finding of check_id in a one-target report."""
    found = [c for c in report["checks"] if c["id"] == check_id]
    assert len(found) == 1, (check_id, report["checks"])
    return found[0]


def expected_msg(failed: dict[str, Any]) -> str:
    """The module's msg for a failed check: '<check id> <target>: <summary> -- <hint>'."""
    where = " ".join(filter(None, [failed["id"], failed["target"]]))
    return "%s: %s -- %s" % (where, failed["summary"], failed["hint"])


def assert_no_secret(secret: str, run: Run) -> None:
    """The secret is not in the output, nor in any file Ansible left behind."""
    assert secret not in run.out
    assert secret not in json.dumps(run.results)
    for d in ("ansible-home", "local-tmp", "remote-tmp"):
        for f in (run.tmp / d).rglob("*"):
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f


# ------------------------------------------------------------------ diagnose.yml


def test_healthy_host_passes(module: Path, callbacks: Path, tmp_path: Path) -> None:
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, WINDOWS_VARS))
    assert run.rc == 0, run.out
    r = run.result(WIN01)
    assert (r["changed"], r.get("failed", False)) == (False, False)
    report = r["report"]
    assert report["verdict"] == "pass", r["report_lines"]
    assert report["schema_version"] == 1
    assert [c["id"] for c in report["checks"]] == CHECK_ORDER
    assert report["tool"]["user"] == PRINCIPAL
    assert report["tool"]["credential"] == "password"
    assert report["tool"]["targets"] == [WIN01]
    connection = finding(report, "ansible-connection")
    assert connection["evidence"]["endpoint"] == "http://%s:5985/wsman" % WIN01
    assert connection["evidence"]["gss_target_name"] == "HTTP@" + WIN01
    # The readable report is in the job output, one line per check.
    assert "PASS winrm-auth %s: " % WIN01 in run.out
    assert re.search(r"PASS: %d passed, 0 warned, 0 failed, 0 skipped" % len(CHECK_ORDER), run.out), run.out
    assert_no_secret(PASSWORD, run)


def test_credential_from_the_inventory(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """ansible_user/ansible_password in the inventory instead of -u and a password file."""
    inventory = "[windows]\n%s ansible_user=%s ansible_password=%s\n%s" % (
        WIN01, PRINCIPAL, PASSWORD, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory, user=None, password=None)
    assert run.rc == 0, run.out
    report = run.result(WIN01)["report"]
    assert report["verdict"] == "pass"
    assert (report["tool"]["user"], report["tool"]["credential"]) == (PRINCIPAL, "password")
    assert PASSWORD not in json.dumps(run.results)


def test_inventory_credential_wins_over_the_machine_credential(module: Path, callbacks: Path,
                                                               tmp_path: Path) -> None:
    """As in the winrm connection, ansible_user/ansible_password beat -u and the connection password."""
    inventory = "[windows]\n%s ansible_user=%s ansible_password=%s\n%s" % (
        WIN01, PRINCIPAL, PASSWORD, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory, user="nobody@" + REALM, password=MARKER)
    assert run.rc == 0, run.out
    assert run.result(WIN01)["report"]["tool"]["user"] == PRINCIPAL
    assert_no_secret(MARKER, run)


@pytest.mark.parametrize("inventory,user,check,code,hint", [
    # awx@kurokobo.internal: the realm must be upper case.
    pytest.param("[windows]\n%s\n" % WIN01, "awx@" + REALM.lower(), "principal", "principal-realm-case",
                 "Use %s (ansible_user: %s" % (PRINCIPAL, PRINCIPAL), id="lowercase-realm"),
    # An IP as ansible_host: Kerberos needs the host's name for the SPN.
    pytest.param("[windows]\n%s ansible_host=127.0.0.20\n" % WIN01, PRINCIPAL, "dns-target", "dns-target-ip",
                 "ansible_winrm_kerberos_hostname_override: %s" % WIN01, id="ip-address"),
    # kuro-win02 has no SPN HTTP/kuro-win02.
    pytest.param("[windows]\nkuro-win02.%s\n" % DOMAIN, PRINCIPAL, "spn-ticket", "spn-unknown",
                 "setspn -S HTTP/kuro-win02.%s" % DOMAIN, id="no-spn"),
])
def test_broken_host_fails_with_code_and_hint(module: Path, callbacks: Path, tmp_path: Path, inventory: str,
                                              user: str, check: str, code: str, hint: str) -> None:
    run = playbook(tmp_path, callbacks, inventory + WINDOWS_VARS, user=user)
    assert run.rc == 2, run.out
    host = inventory.splitlines()[1].split()[0]
    r = run.result(host)
    report = r["report"]
    assert report["verdict"] == "fail"
    codes = [(c["id"], c["code"]) for c in failures(report)]
    assert (check, code) in codes, r["report_lines"]
    found = next(c for c in failures(report) if c["code"] == code)
    assert hint in found["hint"]
    # The job output has the report line with the code, the hint, and the failure message.
    assert "[%s]" % code in run.out
    assert "hint: " + found["hint"] in run.out
    first = failures(report)[0]
    assert r["msg"] == expected_msg(first)
    start = run.out.index("fatal: [%s]: FAILED! =>" % host)
    fatal, _ = json.JSONDecoder().raw_decode(run.out[run.out.index("{", start):])
    assert fatal["msg"] == r["msg"]
    assert "failed=1" in run.out
    # Each warn finding is an Ansible warning.
    flat = " ".join(run.out.split())
    for warning in r.get("warnings", []):
        assert " ".join(("[WARNING]: " + warning).split()) in flat


def test_probe_only_reads_the_inventory_hosts_vars_when_delegated(module: Path, callbacks: Path,
                                                                  tmp_path: Path) -> None:
    """Delegated to localhost, the probe still uses the Windows host's variables, not localhost's
    (Ansible adds ansible_host=localhost to a delegated task's variables)."""
    inventory = textwrap.dedent("""\
        localhost ansible_connection=local ansible_port=22 ansible_user=root
        [windows]
        %s
        win06-https ansible_host=kuro-win06.%s ansible_port=5986 ansible_winrm_ca_trust_path=%s
        """) % (WIN01, DOMAIN, CA_CERT)
    run = playbook(tmp_path, callbacks, inventory + WINDOWS_VARS.replace("ansible_port=5985\n", ""))
    assert run.rc == 2, run.out   # kuro-win01 without ansible_port: 5986/https, where nothing listens
    report = run.result(WIN01)["report"]
    assert (report["tool"]["targets"], report["tool"]["user"]) == ([WIN01], PRINCIPAL)
    assert finding(report, "ansible-connection")["evidence"]["endpoint"] == "https://%s:5986/wsman" % WIN01
    https = run.result("win06-https")["report"]
    assert https["verdict"] == "pass", run.result("win06-https")["report_lines"]
    assert (finding(https, "ansible-connection")["evidence"]["endpoint"]
            == "https://kuro-win06.%s:5986/wsman" % DOMAIN)


def test_winrm_variables_reach_the_probe(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """ansible_winrm_realm, _kinit_env_vars, _service and _path, as the winrm connection reads them."""
    inventory = ("[windows]\n%s ansible_winrm_realm=%s ansible_winrm_kinit_env_vars=KRB5_TRACE,HTTP_PROXY "
                 "ansible_winrm_service=HTTP ansible_winrm_path=/wsman2\n%s") % (WIN01, REALM, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory)
    assert run.rc == 0, run.out
    r = run.result(WIN01)
    connection = finding(r["report"], "ansible-connection")
    assert (connection["status"], connection["code"]) == ("warn", "ansible-connection-realm-ignored")
    assert connection["evidence"]["kinit_env_vars"] == ["KRB5_TRACE", "HTTP_PROXY"]
    flat = " ".join(run.out.split())
    assert "[WARNING]: krbprobe probes /wsman, not ansible_winrm_path=/wsman2" in flat
    assert "ansible-connection-realm-ignored" in flat


def test_kinit_mode_manual_uses_the_ticket_cache(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """ansible_winrm_kinit_mode=manual: the connection uses the ticket in KRB5CCNAME and never
    the password, so neither does the probe (the wrong connection password does not matter)."""
    ccache = "FILE:%s" % (tmp_path / "krb5cc_manual")
    kinit = os.path.join(os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"), "kinit")
    p = subprocess.run([kinit, PRINCIPAL], input=PASSWORD + "\n",
                       env={"KRB5CCNAME": ccache, "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    inventory = "[windows]\n%s ansible_winrm_kinit_mode=manual\n%s" % (WIN01, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory, password=MARKER, env={"KRB5CCNAME": ccache})
    assert run.rc == 0, run.out
    report = run.result(WIN01)["report"]
    assert (report["verdict"], report["tool"]["credential"]) == ("pass", "ccache"), \
        run.result(WIN01)["report_lines"]
    assert_no_secret(MARKER, run)


# -------------------------------------------- krbprobe's verdict vs. the real winrm connection

FIDELITY_INVENTORY = textwrap.dedent("""\
    [windows]
    healthy ansible_host={win01} ansible_port=5985
    lowercase-realm ansible_host={win01} ansible_port=5985 ansible_user=awx@{realm_lower}
    ip-address ansible_host=127.0.0.20 ansible_port=5985
    ip-with-override ansible_host=127.0.0.20 ansible_port=5985 ansible_winrm_kerberos_hostname_override={win01}
    no-spn ansible_host=kuro-win02.{domain} ansible_port=5985
    default-port ansible_host={win01}
    https ansible_host=kuro-win06.{domain} ansible_port=5986 ansible_winrm_ca_trust_path={ca}
    https-scheme ansible_host=kuro-win06.{domain} ansible_winrm_scheme=https ansible_winrm_port=5986 ansible_port=5985 ansible_winrm_ca_trust_path={ca}
    access-denied ansible_host=kuro-win09.{domain} ansible_port=5985
    winrm-host-wins ansible_host=127.0.0.20 ansible_winrm_host={win01} ansible_port=5985
    [windows:vars]
    ansible_connection=winrm
    """)  # noqa: E501 - inventory lines, one host each: INI has no line continuation
FIDELITY_PLAYBOOK = textwrap.dedent("""\
    - name: krbprobe and the real winrm connection, side by side
      hosts: windows
      gather_facts: false
      tasks:
        - name: Probe
          krbprobe:
          delegate_to: localhost
          failed_when: false
        - name: Connect over WinRM as Ansible does (kinit, pywinrm, a command)
          ansible.builtin.raw: ipconfig
          ignore_errors: true
          ignore_unreachable: true
    """)


@pytest.fixture(scope="module")
def fidelity(module: Path, callbacks: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("fidelity")
    book = tmp / "fidelity.yml"
    book.write_text(FIDELITY_PLAYBOOK)
    inventory = FIDELITY_INVENTORY.format(win01=WIN01, realm_lower=REALM.lower(), domain=DOMAIN, ca=CA_CERT)
    # One host at a time and -vvvvv: the connection's 'WINRM CONNECT: ... endpoint=URL' lines
    # then come before the host's result line.
    return playbook(tmp, callbacks, inventory, "--forks", "1", "-vvvvv", book=str(book))


def winrm_endpoints(run: Run) -> dict[str, str]:
    """The endpoint the winrm connection used for each inventory host (from -vvvvv output)."""
    endpoints: dict[str, str] = {}
    last = None
    section = run.out[run.out.index("TASK [Connect over WinRM"):]
    for line in section.splitlines():
        m = re.search(r"WINRM CONNECT: transport=kerberos endpoint=(\S+)", line)
        if m:
            last = m.group(1)
        m = re.match(r"(?:ok|changed|fatal|failed): \[([^\]]+)\]", line)
        if m:
            if last:
                endpoints[m.group(1)] = last
            last = None
    return endpoints


@pytest.mark.parametrize("host,verdict,code", [
    ("healthy", "pass", None),
    ("lowercase-realm", "fail", "principal-realm-case"),
    ("ip-address", "fail", "dns-target-ip"),
    ("ip-with-override", "pass", None),
    ("no-spn", "fail", "spn-unknown"),
    ("default-port", "fail", "winrm-port-closed"),
    ("https", "pass", None),
    ("https-scheme", "pass", None),
    ("access-denied", "fail", "winrm-auth-access-denied"),
    ("winrm-host-wins", "pass", None),
])
def test_verdict_matches_the_winrm_connection(fidelity: Run, host: str, verdict: str,
                                              code: str | None) -> None:
    probe = fidelity.result(host)
    real = fidelity.result(host, "raw")
    lines = probe.get("report_lines", probe)
    assert probe["report"]["verdict"] == verdict, lines
    assert bool(real.get("failed") or real.get("unreachable")) == (verdict == "fail"), \
        (real.get("msg"), lines)
    if code:
        assert code in [c["code"] for c in failures(probe["report"])], lines
    # The same endpoint as the connection (which gets that far unless kinit failed).
    endpoint = winrm_endpoints(fidelity).get(host)
    if host != "lowercase-realm":
        assert endpoint, fidelity.out
    if endpoint:
        assert finding(probe["report"], "ansible-connection")["evidence"]["endpoint"] == endpoint


def test_no_password_in_the_connections_own_debug_output(fidelity: Run) -> None:
    """-vvvvv, the winrm connection's kinit and pywinrm next to the probe: no password anywhere."""
    assert "WINRM CONNECT" in fidelity.out
    assert_no_secret(PASSWORD, fidelity)


# ------------------------------------------- diagnose-group.yml: a whole group in one run

# The fidelity inventory's hosts that share the machine credential (lowercase-realm has its own
# ansible_user, which one run cannot share).
GROUP_HOSTS = [line.split()[0] for line in FIDELITY_INVENTORY.splitlines()[1:]
               if line and not line.startswith(("[", "ansible_")) and "ansible_user=" not in line]


def group_inventory() -> str:
    return "\n".join(line for line in FIDELITY_INVENTORY.splitlines() if "ansible_user=" not in line).format(
        win01=WIN01, domain=DOMAIN, ca=CA_CERT) + "\n"


def test_group_in_one_run_matches_the_per_host_runs(fidelity: Run, module: Path, callbacks: Path,
                                                   tmp_path: Path) -> None:
    """diagnose-group.yml probes the group in one module run (one TGT, one kinit) and gives every
    host the verdict and failed codes that its own diagnose-style run gave (and those match the
    real winrm connection, test_verdict_matches_the_winrm_connection)."""
    run = playbook(tmp_path, callbacks, group_inventory(), book="diagnose-group.yml")
    assert run.rc == 2, run.out
    r = run.result("localhost")
    report = r["report"]
    assert report["tool"]["targets"] == GROUP_HOSTS
    assert [c["id"] for c in report["checks"]].count("kinit") == 1
    assert finding(report, "kinit")["status"] == "pass"
    for host in GROUP_HOSTS:
        alone = fidelity.result(host)["report"]
        want = [c["code"] for c in failures(alone)]
        assert r["verdicts"][host] == {"verdict": alone["verdict"], "failed": want}, (host, r["report_lines"])
        # Each host probed with its own connection variables: the same endpoint and SPN.
        mine = [c for c in report["checks"] if c["id"] == "ansible-connection" and c["target"] == host]
        assert mine[0]["evidence"]["endpoint"] == finding(alone, "ansible-connection")["evidence"]["endpoint"]
    failed = [h for h in GROUP_HOSTS if r["verdicts"][h]["verdict"] == "fail"]
    assert failed, "the fidelity inventory has broken hosts"
    # The job output stays short: a line per host, details only for what failed or warned.
    lines = r["report_lines"]
    for host in GROUP_HOSTS:
        row = [line.split(None, 1) for line in lines if line.split(None, 1)[:1] == [host]]
        assert row and row[0][1].startswith(", ".join(r["verdicts"][host]["failed"]) or "ok"), (host, lines)
    assert not [line for line in lines if line.startswith("PASS spn-ticket")], lines
    assert "Failed or warned:" in lines
    flat = " ".join(run.out.split())
    assert "%d of %d hosts failed (%s); first failure: %s" % (
        len(failed), len(GROUP_HOSTS), ", ".join(failed), r["msg"]) in flat, run.out
    assert_no_secret(PASSWORD, run)


def test_group_of_healthy_hosts_passes(module: Path, callbacks: Path, tmp_path: Path) -> None:
    inventory = ("[windows]\n%s\nkuro-win05.%s\nhttps ansible_host=kuro-win06.%s ansible_port=5986 "
                 "ansible_winrm_ca_trust_path=%s\n%s" % (WIN01, DOMAIN, DOMAIN, CA_CERT, WINDOWS_VARS))
    run = playbook(tmp_path, callbacks, inventory, "-e", "krbprobe_no_shell=true", book="diagnose-group.yml")
    assert run.rc == 0, run.out
    r = run.result("localhost")
    assert r["report"]["verdict"] == "pass", r["report_lines"]
    assert r["verdicts"] == {h: {"verdict": "pass", "failed": []}
                             for h in (WIN01, "kuro-win05." + DOMAIN, "https")}
    assert r["report"]["tool"]["endpoints"][2] == "https://kuro-win06.%s:5986/wsman" % DOMAIN


def test_group_with_two_credentials_fails_naming_the_hosts(module: Path, callbacks: Path,
                                                           tmp_path: Path) -> None:
    inventory = "[windows]\n%s\nother ansible_host=%s ansible_user=awx@%s ansible_password=%s\n%s" % (
        WIN01, WIN01, REALM.lower(), MARKER, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory, book="diagnose-group.yml")
    assert run.rc == 2, run.out
    flat = " ".join(run.out.split())
    assert "the hosts of the group differ in their user (%s: %s; other: awx@%s)" % (
        WIN01, PRINCIPAL, REALM.lower()) in flat, run.out
    assert_no_secret(MARKER, run)


def test_group_unknown(module: Path, callbacks: Path, tmp_path: Path) -> None:
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, WINDOWS_VARS),
                   "-e", "krbprobe_group=linux", book="diagnose-group.yml")
    assert run.rc == 2, run.out
    assert "no inventory group 'linux' (groups: windows)" in run.out


# ------------------------------- krbprobe --targets-file INVENTORY --group: the CLI's own reading

CLI_INVENTORY = textwrap.dedent("""\
    [windows]
    kuro-win0[1:2].{domain}
    https ansible_host=kuro-win06.{domain} ansible_port=5986 ansible_winrm_ca_trust_path={ca}
    ip-override ansible_host=127.0.0.20 ansible_winrm_kerberos_hostname_override={win01}
    [dcs]
    kuro-win09.{domain}:5985 ansible_winrm_host=kuro-win05.{domain} ansible_host=127.0.0.28
    [domain:children]
    windows
    dcs
    [domain:vars]
    ansible_port=5985
    ansible_winrm_service=HTTP
    [windows:vars]
    ansible_winrm_transport=kerberos
    [linux]
    web01.{domain} ansible_port=22
    [all:vars]
    ansible_connection=winrm
    """)


def connection_view(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Per target: name, the endpoint and the GSSAPI name the winrm connection would use."""
    return [(c["target"], c["evidence"]["endpoint"], c["evidence"]["gss_target_name"])
            for c in report["checks"] if c["id"] == "ansible-connection"]


def test_cli_reads_an_inventory_as_ansible_does(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """krbprobe --targets-file INVENTORY --group domain, from the INI itself (its own reader:
    ranges, host:port, children, group vars and their precedence) and from the JSON of the
    real `ansible-inventory --list`, probes the same hosts at the same endpoints with the same
    SPNs as the module, whose action plugin lets Ansible resolve every variable."""
    inventory = CLI_INVENTORY.format(domain=DOMAIN, ca=CA_CERT, win01=WIN01)
    by_ansible = playbook(tmp_path, callbacks, inventory, "-e", "krbprobe_group=domain",
                          "-e", "krbprobe_no_shell=true", book="diagnose-group.yml")
    want = connection_view(by_ansible.result("localhost")["report"])
    assert [t for t, _, _ in want] == ["kuro-win01." + DOMAIN, "kuro-win02." + DOMAIN, "https", "ip-override",
                                       "kuro-win09." + DOMAIN], by_ansible.out
    listed = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(tmp_path / "inventory.ini"),
                             "--list"],
                            env=ansible_env(tmp_path, tmp_path), capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    (tmp_path / "inventory.json").write_text(listed.stdout)
    for source in ("inventory.ini", "inventory.json"):
        p = subprocess.run([str(module), "--format", "json", "--no-shell", "-u", PRINCIPAL,
                            "--ee-check", "never",
                            "--targets-file", str(tmp_path / source), "--group", "domain"],
                           capture_output=True, text=True, timeout=60, check=False)
        report = json.loads(p.stdout)
        assert connection_view(report) == want, (source, p.stderr)
    p = subprocess.run([str(module), "-u", PRINCIPAL, "--targets-file", str(tmp_path / "inventory.ini"),
                        "--group", "windows,nosuch"], capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2
    assert 'no group "nosuch" in it (groups: dcs, domain, linux, windows)' in p.stderr, p.stderr


# ----------------------------------------------------------------------- the password


def test_wrong_password_never_printed_even_with_vvv(module: Path, callbacks: Path, tmp_path: Path) -> None:
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, WINDOWS_VARS), "-vvv", password=MARKER)
    assert run.rc == 2, run.out
    report = run.result(WIN01)["report"]
    assert [c["code"] for c in failures(report)][:1] == ["kinit-password-wrong"], \
        run.result(WIN01)["report_lines"]
    assert "EXEC" in run.out   # -vvv really is verbose
    assert_no_secret(MARKER, run)


def test_lab_password_never_printed_with_vvv(module: Path, callbacks: Path, tmp_path: Path) -> None:
    inventory = "[windows]\n%s ansible_password=%s\n%s" % (WIN01, PASSWORD, WINDOWS_VARS)
    run = playbook(tmp_path, callbacks, inventory, "-vvv", password=None)
    assert run.rc == 0, run.out
    assert_no_secret(PASSWORD, run)


def module_args(tmp: Path, **args: Any) -> Path:
    """An args file as Ansible writes it for a binary module."""
    args.setdefault("_ansible_no_log", True)
    args.setdefault("_ansible_check_mode", False)
    args.setdefault("_ansible_debug", False)
    args.setdefault("_ansible_diff", False)
    args.setdefault("_ansible_verbosity", 3)
    args.setdefault("_ansible_module_name", "krbprobe")
    args.setdefault("_ansible_tmpdir", str(tmp))
    args.setdefault("_ansible_remote_tmp", str(tmp))
    args.setdefault("_ansible_keep_remote_files", False)
    args.setdefault("_ansible_version", "2.19.14")
    path = tmp / "args"
    path.write_text(json.dumps(args))
    return path


def run_module(path: Path) -> tuple[dict[str, Any], str]:
    """The module as Ansible runs a binary module (MODULE ARGS_FILE), in an environment like an
    execution environment's: kinit on PATH."""
    env = dict(os.environ,
               PATH="%s:%s" % (os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"), os.environ.get("PATH", "")))
    p = subprocess.run([str(MODULE), str(path)], capture_output=True, text=True, timeout=120, env=env,
                       check=False)
    out = p.stdout.strip()
    doc, end = json.JSONDecoder().raw_decode(out)
    assert end == len(out), "more than one JSON document on stdout: %r" % out[end:]
    assert isinstance(doc, dict)
    return doc, p.stdout + p.stderr


@pytest.mark.parametrize("password,verdict,code", [
    pytest.param(MARKER, "fail", "kinit-password-wrong", id="wrong-password"),
    pytest.param(PASSWORD, "pass", None, id="lab-password"),
])
def test_module_directly(module: Path, tmp_path: Path, password: str, verdict: str, code: str | None) -> None:
    path = module_args(tmp_path, targets=[{"name": WIN01, "port": 5985}], user=PRINCIPAL, password=password,
                       python=sys.executable, kinit_env_vars=["KRB5_TRACE"], trace=True)
    doc, everything = run_module(path)
    assert doc["changed"] is False
    assert doc["failed"] is (verdict == "fail")
    assert doc["report"]["verdict"] == verdict, doc["msg"]
    # One warning per warn finding ('warnings' left out when there is none, as AnsibleModule does).
    warns = [c for c in doc["report"]["checks"] if c["status"] == "warn"]
    assert isinstance(doc.get("warnings", []), list)
    assert len(doc.get("warnings", [])) == len(warns)
    assert all(isinstance(w, str) for w in doc.get("warnings", []))
    if code:
        first = failures(doc["report"])[0]
        assert first["code"] == code
        assert doc["msg"] == expected_msg(first)
    assert password not in everything   # with the trace in the report, too
    assert "trace" in doc["report"]


def test_module_comma_separated_targets(module: Path, tmp_path: Path) -> None:
    path = module_args(tmp_path, targets="%s, kuro-win02.%s" % (WIN01, DOMAIN), port=5985, user=PRINCIPAL,
                       password=PASSWORD, timeout=5, ee_check="never")
    doc, _ = run_module(path)
    assert "ee-runtime" not in [c["id"] for c in doc["report"]["checks"]]
    assert doc["report"]["tool"]["targets"] == [WIN01, "kuro-win02." + DOMAIN]
    assert [(c["target"], c["code"]) for c in failures(doc["report"])] \
        == [("kuro-win02." + DOMAIN, "spn-unknown")], failures(doc["report"])


# ------------------------------------------------------------------ investigate.yml


def test_investigate_shows_the_pod(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """krb5.conf bind-mounted the way a ConfigMap with subPath is (kubelet's volume-subpaths),
    in a private mount namespace so that the lab's own /etc/krb5.conf stays as it is."""
    subpath = tmp_path / "kubelet" / "pods" / "0f1e" / "volume-subpaths" / "krb5-conf" / "worker" / "0"
    subpath.parent.mkdir(parents=True)
    shutil.copy("/etc/krb5.conf", subpath)
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /etc/krb5.conf && exec "$@"', str(subpath)]
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, WINDOWS_VARS), book="investigate.yml",
                   prefix=prefix)
    assert run.rc == 0, run.out
    assert "krb5.conf: /etc/krb5.conf exists" in run.out
    assert re.search(r"mounted: yes, a Kubernetes ConfigMap/Secret volume: "
                     r"\S*/volume-subpaths/krb5-conf/worker/0", run.out), run.out
    assert "default_realm = %s" % REALM in run.out
    assert re.search(r"kinit: /\S+/kinit", run.out), run.out
    assert "uid: uid=0(root)" in run.out
    assert "nameserver 127.0.0.53" in run.out
    assert "PASS winrm-auth %s: " % WIN01 in run.out
    assert "pause" not in run.out.lower()


def test_investigate_without_mount(module: Path, callbacks: Path, tmp_path: Path) -> None:
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, WINDOWS_VARS), book="investigate.yml")
    assert run.rc == 0, run.out
    assert "mounted: no" in run.out


# ------------------------------------------------------- diagnose.yml over the psrp connection

PSRP_VARS = textwrap.dedent("""\
    [windows:vars]
    ansible_connection=psrp
    ansible_psrp_auth=negotiate
    ansible_psrp_protocol=http
    ansible_psrp_port=5985
    ansible_psrp_configuration_name=Microsoft.PowerShell
    """)
# krbprobe's flags in lab/scenarios.toml's psrp scenarios and the inventory variable each mirrors.
PSRP_FLAG_VARS = {"--configuration-name": "ansible_psrp_configuration_name",
                  "--psrp-auth": "ansible_psrp_auth",
                  "--message-encryption": "ansible_psrp_message_encryption"}


def running_core() -> tuple[int, int]:
    """(major, minor) of the ansible-core that runs the playbooks (this venv's)."""
    from importlib.metadata import version

    major, minor = version("ansible-core").split(".")[:2]
    return int(major), int(minor)


def psrp_scenarios() -> list[dict[str, Any]]:
    """lab/scenarios.toml's psrp scenarios, resolved by lab/run ($KRBPROBE_LAB_SCENARIOS)."""
    path = os.environ.get("KRBPROBE_LAB_SCENARIOS")
    if not path:
        return []
    scenarios = json.loads(Path(path).read_text())["scenarios"]
    # The Samba realm's scenarios need their own krb5.conf, which diagnose.yml takes from the
    # job pod's /etc/krb5.conf (the MIT realm's here); lab_scenarios and the fidelity matrix
    # run them.
    return [s for s in scenarios if "--connection" in s["args"] and not s.get("samba")
            and s["args"][s["args"].index("--connection") + 1] == "psrp"]


def psrp_host_line(s: dict[str, Any]) -> str:
    """The scenario as one inventory host line: its target with the ansible_psrp_* variables
    that say what the scenario's krbprobe flags say."""
    assert (s["user"], s["password"], s["krb5_conf"], s["ccache"] or None, s["env"]) == \
        (PRINCIPAL, PASSWORD, None, None, {}), "not expressible as a psrp inventory: %s" % s["id"]
    variables = {"ansible_psrp_protocol": s["scheme"], "ansible_psrp_port": str(s["port"])}
    if s["ca"]:
        variables["ansible_psrp_ca_cert"] = CA_CERT
    args = list(s["args"])
    while args:
        flag = args.pop(0)
        if flag == "--connection":
            assert args.pop(0) == "psrp"
        elif flag in PSRP_FLAG_VARS:
            variables[PSRP_FLAG_VARS[flag]] = args.pop(0)
        elif flag == "--delegate":
            variables["ansible_psrp_negotiate_delegate"] = "true"
        elif flag == "--ansible-core":
            # The module reads the running ansible-core's version: only a scenario for the
            # same side of 2.21 (negotiate_service WSMAN before, host from) can run here.
            wanted = tuple(int(x) for x in args.pop(0).split(".")[:2])
            if (wanted >= (2, 21)) != (running_core() >= (2, 21)):
                pytest.skip("%s is for ansible-core %s; this venv runs %d.%d"
                            % (s["id"], ".".join(map(str, wanted)), *running_core()))
        else:
            raise AssertionError("%s: no inventory variable for %s" % (s["id"], flag))
    return " ".join([s["target"], *("%s=%s" % kv for kv in variables.items())])


def scenario_value(report: dict[str, Any], target: str, key: str) -> Any:
    """A scenarios.toml `checks` path ('id:path') in the module's report; None when absent."""
    check_id, path = key.split(":", 1)
    if check_id == "report":
        node: Any = report
    else:
        node = next(c for c in report["checks"]
                    if c["id"] == check_id and c.get("target") in (None, target))
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


# Outside the lab there are none: one parameter then, for the skip.
PSRP_SCENARIOS: list[Any] = [pytest.param(s, id=s["id"]) for s in psrp_scenarios()] or [None]


@pytest.mark.parametrize("scenario", PSRP_SCENARIOS)
def test_psrp_scenarios_through_ansible(module: Path, callbacks: Path, tmp_path: Path,
                                        scenario: dict[str, Any] | None) -> None:
    """Every psrp scenario of lab/scenarios.toml as an inventory (ansible_connection=psrp and
    the ansible_psrp_* variables for its flags) run by diagnose.yml: the same verdict, first
    failing code and hint as the binary gives in tests/lab_scenarios.rs, in Ansible's output."""
    assert scenario, "no psrp scenarios: run inside the lab (lab/run sets KRBPROBE_LAB_SCENARIOS)"
    host = scenario["target"]
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (psrp_host_line(scenario), PSRP_VARS))
    r = run.result(host)
    report = r["report"]
    lines = r["report_lines"]
    assert finding(report, "ansible-connection")["evidence"]["connection"] == "psrp", lines
    # ee-runtime looks for the psrp connection's Python (pypsrp), winrm-auth opens no cmd shell.
    assert "pypsrp " in finding(report, "ee-runtime")["summary"], lines
    steps = [s["step"] for s in finding(report, "winrm-auth")["evidence"].get("steps", [])]
    assert "create-shell" not in steps, steps
    expect = scenario["expect"]
    if not expect:
        assert run.rc == 0, run.out
        assert report["verdict"] == "pass", lines
        assert sorted({c["code"] for c in report["checks"] if c["status"] == "warn"}) == \
            sorted(scenario["warn"]), lines
    else:
        assert run.rc == 2, run.out
        first = failures(report)[0]
        assert first["code"] == expect, lines
        assert scenario["hint"] in first["hint"], first
        # In the job output: the report line with the code, the hint, the fatal message.
        assert "FAIL %s %s: %s [%s]" % (first["id"], host, first["summary"], expect) in run.out
        assert "hint: " + first["hint"] in run.out
        assert r["msg"] == expected_msg(first)
        start = run.out.index("fatal: [%s]: FAILED! =>" % host)
        fatal, _ = json.JSONDecoder().raw_decode(run.out[run.out.index("{", start):])
        assert fatal["msg"] == r["msg"]
        assert scenario["hint"] in fatal["msg"]
    for key, want in scenario["checks"].items():
        got = scenario_value(report, host, key)
        if want == "absent":
            assert got is None, (key, got)
        elif isinstance(want, dict) and "contains" in want:
            assert isinstance(got, str) and want["contains"] in got, (key, got)
        elif isinstance(want, dict) and "between" in want:
            assert want["between"][0] <= got <= want["between"][1], (key, got)
        else:
            assert got == want, (key, got, lines)
    assert_no_secret(PASSWORD, run)


def test_psrp_scenarios_cover_the_done_when() -> None:
    """The scenarios test_psrp_scenarios_through_ansible must run (issue 10's done-when)."""
    ids = {s["id"]: s for s in psrp_scenarios()}
    for sid, target, code in [("psrp-healthy", WIN01, None),
                              ("psrp-endpoint-denied", "kuro-win15." + DOMAIN, "winrm-auth-endpoint-denied"),
                              ("psrp-endpoint-missing", WIN01, "winrm-auth-endpoint-missing"),
                              ("psrp-no-wsman-spn", "kuro-win17." + DOMAIN, "spn-psrp-service-missing")]:
        assert sid in ids, sorted(ids)
        assert (ids[sid]["target"], ids[sid]["expect"] or None) == (target, code), ids[sid]
    # kuro-win17's scenario is for the WSMAN default: it runs here only before ansible-core 2.21.
    assert running_core() < (2, 21), "bump psrp-no-wsman-spn's --ansible-core with the venv's pin"


def test_psrp_healthy_host_passes(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """kuro-win01 over psrp: probed as pypsrp connects (SPNEGO to WSMAN/host, a runspace pool
    on Microsoft.PowerShell opened and closed), not as the winrm connection."""
    run = playbook(tmp_path, callbacks, "[windows]\n%s\n%s" % (WIN01, PSRP_VARS))
    assert run.rc == 0, run.out
    r = run.result(WIN01)
    assert (r["changed"], r.get("failed", False)) == (False, False)
    report = r["report"]
    assert report["verdict"] == "pass", r["report_lines"]
    assert [c["id"] for c in report["checks"]] == CHECK_ORDER, r["report_lines"]
    assert (report["tool"]["user"], report["tool"]["credential"]) == (PRINCIPAL, "password")
    connection = finding(report, "ansible-connection")["evidence"]
    assert {k: connection[k] for k in ("connection", "endpoint", "auth", "gss_target_name",
                                       "configuration_name", "port_from_inventory")} == {
        "connection": "psrp", "endpoint": "http://%s:5985/wsman" % WIN01, "auth": "negotiate",
        "gss_target_name": "WSMAN@" + WIN01, "configuration_name": "Microsoft.PowerShell",
        "port_from_inventory": True}
    assert finding(report, "spn-ticket")["evidence"]["spn"] == "WSMAN/%s@%s" % (WIN01, REALM)
    assert re.match(r"pypsrp \S+ with pyspnego \S+ and gssapi", finding(report, "ee-runtime")["summary"])
    auth = finding(report, "winrm-auth")
    assert "PowerShell runspace pool opened" in auth["summary"], auth
    steps = [s["step"] for s in auth["evidence"]["steps"]]
    assert "create-pool" in steps and "delete-pool" in steps and "create-shell" not in steps, steps
    assert "PASS winrm-auth %s: %s [winrm-auth-ok]" % (WIN01, auth["summary"]) in run.out
    assert re.search(r"PASS: %d passed, 0 warned, 0 failed, 0 skipped" % len(CHECK_ORDER), run.out)
    assert_no_secret(PASSWORD, run)


# Each row: ansible_psrp_* variables on a host, then what they must change in the module's report.
@pytest.mark.parametrize("host,host_vars,verdict,expected", [
    # Another registered endpoint passes, an unknown one fails: the runspace pool opens on it.
    pytest.param(WIN01, "ansible_psrp_configuration_name=PowerShell.7", "pass",
                 {"ansible-connection:evidence.configuration_name": "PowerShell.7"}, id="configuration_name"),
    pytest.param(WIN01, "ansible_psrp_configuration_name=Microsoft.Exchange", "fail",
                 {"winrm-auth:code": "winrm-auth-endpoint-missing"}, id="configuration_name-unknown"),
    # The SPN service: host/ instead of the default WSMAN/ makes kuro-win17 work.
    pytest.param("kuro-win17." + DOMAIN, "ansible_psrp_negotiate_service=host", "pass",
                 {"spn-ticket:evidence.spn": "host/kuro-win17.%s@%s" % (DOMAIN, REALM)},
                 id="negotiate_service"),
    # auth kerberos: no NTLM fallback to report on a host without any SPN.
    pytest.param("kuro-win02." + DOMAIN, "ansible_psrp_auth=kerberos", "fail",
                 {"ansible-connection:evidence.auth": "kerberos", "winrm-auth:code": "winrm-auth-skipped"},
                 id="auth"),
    pytest.param("kuro-win02." + DOMAIN, "", "fail",
                 {"ansible-connection:evidence.auth": "negotiate",
                  "winrm-auth:code": "winrm-auth-ntlm-fallback"}, id="auth-default"),
    # https on 5986 with the lab CA, to the host that insists on channel bindings.
    pytest.param("kuro-win16." + DOMAIN, "ansible_psrp_protocol=https ansible_psrp_port=5986 "
                 "ansible_psrp_ca_cert=" + CA_CERT, "pass",
                 {"ansible-connection:evidence.endpoint": "https://kuro-win16.%s:5986/wsman" % DOMAIN,
                  "ansible-connection:evidence.send_cbt": True}, id="https"),
    # Without channel bindings, the host that insists on them answers 401: the hint says why.
    pytest.param("kuro-win16." + DOMAIN, "ansible_psrp_protocol=https ansible_psrp_port=5986 "
                 "ansible_psrp_ca_cert=%s ansible_psrp_negotiate_send_cbt=false" % CA_CERT, "fail",
                 {"ansible-connection:evidence.send_cbt": False, "winrm-auth:code": "winrm-auth-rejected",
                  "winrm-auth:evidence.channel_binding": False,
                  "winrm-auth:hint": {"contains": "remove ansible_psrp_negotiate_send_cbt"}},
                 id="negotiate_send_cbt"),
    pytest.param(WIN01, "ansible_psrp_message_encryption=never", "fail",
                 {"ansible-connection:code": "ansible-connection-psrp-unencrypted",
                  "winrm-auth:code": "winrm-auth-encryption"}, id="message_encryption"),
    pytest.param(WIN01, "ansible_host=127.0.0.20 ansible_psrp_negotiate_hostname_override=" + WIN01, "pass",
                 {"ansible-connection:evidence.gss_target_name": "WSMAN@" + WIN01,
                  "ansible-connection:evidence.endpoint": "http://127.0.0.20:5985/wsman"},
                 id="negotiate_hostname_override"),
])
def test_psrp_variables_reach_the_probe(module: Path, callbacks: Path, tmp_path: Path, host: str,
                                        host_vars: str, verdict: str, expected: dict[str, Any]) -> None:
    """Each ansible_psrp_* variable, on the host, changes the probe the way it changes pypsrp."""
    run = playbook(tmp_path, callbacks, "[windows]\n%s %s\n%s" % (host, host_vars, PSRP_VARS))
    assert run.rc == (0 if verdict == "pass" else 2), run.out
    report = run.result(host)["report"]
    assert report["verdict"] == verdict, run.result(host)["report_lines"]
    for key, want in expected.items():
        got = scenario_value(report, host, key)
        if isinstance(want, dict):
            assert isinstance(got, str) and want["contains"] in got, (key, got)
        else:
            assert got == want, (key, run.result(host)["report_lines"])


def test_psrp_proxy_variables(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """HTTP_PROXY in the job's environment: pypsrp sends WinRM through it (winrm-proxy), except
    for a host with ansible_psrp_ignore_proxy (it connects directly: pypsrp sets the session's
    proxy to none) or its own ansible_psrp_proxy (which replaces the environment's; krbprobe
    does not go through it and warns). A winrm host ignores the psrp variable."""
    inventory = textwrap.dedent("""\
        [windows]
        env ansible_host={win01}
        ignore ansible_host={win01} ansible_psrp_ignore_proxy=true
        own ansible_host={win01} ansible_psrp_proxy=http://127.0.0.98:8080
        winrm ansible_host={win01} ansible_connection=winrm ansible_port=5985 ansible_psrp_ignore_proxy=true
        {psrp_vars}""").format(win01=WIN01, psrp_vars=PSRP_VARS)
    proxy = "http://127.0.0.99:3128"
    run = playbook(tmp_path, callbacks, inventory, env={"HTTP_PROXY": proxy, "NO_PROXY": "localhost"})
    assert run.rc == 2, run.out
    for host, verdict in [("env", "fail"), ("ignore", "pass"), ("own", "pass"), ("winrm", "fail")]:
        r = run.result(host)
        assert r["report"]["verdict"] == verdict, (host, r["report_lines"])
        http = finding(r["report"], "winrm-http")
        if verdict == "fail":
            assert (http["code"], http["evidence"]["proxy"]) == ("winrm-proxy", proxy), (host, http)
            assert (http["evidence"]["direct_result"]) == "winrm-http-ok"
        else:
            assert http["code"] == "winrm-http-ok", (host, http)
            assert "winrm-proxy" not in json.dumps(r["report"]), (host, r["report_lines"])
    assert run.result("own")["warnings"] == [
        "krbprobe connects to the host directly, not through ansible_psrp_proxy=http://127.0.0.98:8080"]
    assert "warnings" not in run.result("ignore")


def test_psrp_group_in_one_run(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """diagnose-group.yml over psrp hosts (and one winrm host): one run, each host probed with its
    own connection, the verdicts per host as their own runs give them."""
    inventory = textwrap.dedent("""\
        [windows]
        {win01}
        kuro-win15.{domain}
        kuro-win17.{domain}
        winrm ansible_host={win01} ansible_connection=winrm ansible_port=5985
        {psrp_vars}""").format(win01=WIN01, domain=DOMAIN, psrp_vars=PSRP_VARS)
    run = playbook(tmp_path, callbacks, inventory, book="diagnose-group.yml")
    assert run.rc == 2, run.out
    r = run.result("localhost")
    assert r["verdicts"] == {
        WIN01: {"verdict": "pass", "failed": []},
        "kuro-win15." + DOMAIN: {"verdict": "fail", "failed": ["winrm-auth-endpoint-denied"]},
        "kuro-win17." + DOMAIN: {"verdict": "fail",
                                 "failed": ["spn-psrp-service-missing", "winrm-auth-ntlm-fallback"]},
        "winrm": {"verdict": "pass", "failed": []}}, r["report_lines"]
    # (a winrm host's finding has no 'connection' key)
    connections = {c["target"]: (c["evidence"].get("connection", "winrm"), c["evidence"]["gss_target_name"])
                   for c in r["report"]["checks"] if c["id"] == "ansible-connection"}
    assert connections == {WIN01: ("psrp", "WSMAN@" + WIN01),
                           "kuro-win15." + DOMAIN: ("psrp", "WSMAN@kuro-win15." + DOMAIN),
                           "kuro-win17." + DOMAIN: ("psrp", "WSMAN@kuro-win17." + DOMAIN),
                           "winrm": ("winrm", "HTTP@" + WIN01)}
    assert [c["id"] for c in r["report"]["checks"]].count("kinit") == 1
    flat = " ".join(run.out.split())
    assert "2 of 4 hosts failed (kuro-win15.%s, kuro-win17.%s)" % (DOMAIN, DOMAIN) in flat, run.out


def test_psrp_port_follows_the_protocol(module: Path, callbacks: Path, tmp_path: Path) -> None:
    """As the psrp plugin: only ansible_psrp_protocol set, the port follows it (http 5985,
    https 5986); neither set, https on 5986."""
    inventory = textwrap.dedent("""\
        [windows]
        http ansible_host={win01} ansible_psrp_protocol=http
        https ansible_host=kuro-win06.{domain} ansible_psrp_protocol=https ansible_psrp_ca_cert={ca}
        neither ansible_host={win01}
        [windows:vars]
        ansible_connection=psrp
        """).format(win01=WIN01, domain=DOMAIN, ca=CA_CERT)
    run = playbook(tmp_path, callbacks, inventory)
    assert run.rc == 2, run.out
    for host, endpoint, verdict in [("http", "http://%s:5985/wsman" % WIN01, "pass"),
                                    ("https", "https://kuro-win06.%s:5986/wsman" % DOMAIN, "pass"),
                                    ("neither", "https://%s:5986/wsman" % WIN01, "fail")]:
        report = run.result(host)["report"]
        assert finding(report, "ansible-connection")["evidence"]["endpoint"] == endpoint, host
        assert report["verdict"] == verdict, (host, run.result(host)["report_lines"])
    assert [c["code"] for c in failures(run.result("neither")["report"])][:1] == ["winrm-port-closed"]


# -------------------------------------------------------------- psrp defaults per ansible-core


def psrp_option_defaults(wheel: Path) -> dict[str, Any]:
    """The psrp connection plugin's documented option defaults in an ansible-core wheel."""
    import zipfile

    import yaml

    with zipfile.ZipFile(wheel) as z:
        source = z.read("ansible/plugins/connection/psrp.py").decode()
    doc = re.search(r'^DOCUMENTATION = r?"""(.*?)"""', source, re.S | re.M)
    assert doc, wheel
    options = yaml.safe_load(doc.group(1))["options"]
    return {name: o.get("default") for name, o in options.items()}


def test_psrp_service_default_follows_each_ansible_core(tmp_path: Path) -> None:
    """krbprobe's --ansible-core picks the negotiate_service default that version's own psrp
    plugin documents (WSMAN up to 2.20, host from 2.21), for every minor version from 2.16."""
    wheels = sorted(Path(os.environ.get("KRBPROBE_ANSIBLE_CORE_WHEELS", "/nonexistent")).glob("*.whl"))
    assert len(wheels) >= 6, "run lab/ansible-core-wheels.sh (scripts/test.sh passes its directory)"
    seen = set()
    for wheel in wheels:
        version = wheel.name.split("-")[1]
        defaults = psrp_option_defaults(wheel)
        assert defaults["configuration_name"] == "Microsoft.PowerShell", version
        assert defaults["auth"] == "negotiate", version
        p = subprocess.run(
            [str(REPO / "target/x86_64-unknown-linux-musl/release/krbprobe"), "--connection", "psrp",
             "--ansible-core", version, "--format", "json", "--no-shell", "--ee-check", "never", WIN01],
            env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60, check=False)
        report = json.loads(p.stdout)
        connection = finding(report, "ansible-connection")
        service = connection["evidence"]["gss_target_name"].split("@")[0]
        assert service == defaults["negotiate_service"], (version, connection["evidence"])
        seen.add(service)
    assert seen == {"WSMAN", "host"}, seen


# -------------------------------------------------------------- lint and documentation


def test_ansible_lint_production_profile(tmp_path: Path) -> None:
    """Offline (the lab has no network): everything the playbooks use is in ansible-core."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = "%s:%s" % (VENV_BIN, env.get("PATH", "/usr/bin:/bin"))
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["ANSIBLE_HOME"] = str(tmp_path / "ansible-home")
    p = subprocess.run([str(VENV_BIN / "ansible-lint"), "--nocolor", "--profile", "production", "--offline"],
                       cwd=PLAYBOOKS, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Profile 'production' was required, and it passed" in p.stdout + p.stderr


def test_ansible_doc_reads_the_sidecar(module: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_NOCOLOR"] = "1"
    p = subprocess.run([str(VENV_BIN / "ansible-doc"), "-M", "library", "krbprobe"], cwd=PLAYBOOKS, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert "MODULE krbprobe" in p.stdout and "library/krbprobe.yml" in p.stdout
    assert "This module has a corresponding action plugin" in p.stdout
    for option in ("targets", "password", "hostname_override", "kinit_env_vars", "ee_check"):
        assert re.search(r"^[-=]?\s*%s\s" % option, p.stdout, re.M), option
