# Copyright krbprobe authors
# SPDX-License-Identifier: Apache-2.0
"""Action plugin for the krbprobe module: probe a Windows host as its connection would.

The module (the static krbprobe binary, ``library/krbprobe``) runs in the job's execution
environment: the task is delegated to localhost. This plugin fills the module's arguments that
the task leaves out from the *inventory host's* connection settings (its ``ansible_connection``:
winrm, or psrp), resolved the way ansible-core's connection plugin resolves them (same
variables, same precedence, same defaults: the option definitions are the installed plugin's
own, so psrp's negotiate_service default is the running ansible-core's), and from the job's
machine credential (``-u`` / ``remote_user`` and the connection password), then runs the
module.

The password goes into the module's arguments only (the args file in Ansible's remote tmp dir,
a directory of mode 0700 that Ansible deletes after the run); it is never put into the task
result.
"""

from __future__ import annotations

import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader

# Variables that ConnectionBase.update_vars() adds to a delegated task's variables with the
# *delegate's* values (the local connection's: ansible_host=localhost, ansible_user=-u) when the
# inventory host does not define them. Passwords are never added.
INJECTED_BY_DELEGATION = ("ansible_connection", "ansible_host", "ansible_port", "ansible_user")

# ansible_winrm_* settings krbprobe does not model, and what that means for its verdict.
NOT_MIRRORED = {
    "ansible_winrm_path": (
        lambda v: str(v) != "/wsman",
        "krbprobe probes /wsman, not ansible_winrm_path={value}",
    ),
    "ansible_psrp_path": (
        lambda v: str(v).strip("/") != "wsman",
        "krbprobe probes /wsman, not ansible_psrp_path={value}",
    ),
    # pypsrp sends WinRM through it (the environment's proxy variables then do not count).
    "ansible_psrp_proxy": (
        bool,
        "krbprobe connects to the host directly, not through ansible_psrp_proxy={value}",
    ),
    "ansible_winrm_message_encryption": (
        lambda v: str(v).lower() == "never",
        ("ansible_winrm_message_encryption=never: krbprobe encrypts the messages as pywinrm's "
         "default (auto) does"),
    ),
}


# The psrp plugin's options krbprobe takes, as the module's targets[].psrp keys. ca_cert and
# cert_validation are run-wide (ca_file, insecure) as for winrm.
PSRP_OPTIONS = (
    "protocol", "path", "auth", "message_encryption", "proxy", "ignore_proxy", "negotiate_delegate",
    "negotiate_hostname_override", "negotiate_send_cbt", "negotiate_service", "configuration_name",
)


class ActionModule(ActionBase):
    """Runs the krbprobe module with the inventory host's winrm connection settings."""

    TRANSFERS_FILES = False
    _supports_check_mode = True  # the probe changes nothing
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        if getattr(self._connection._shell, "SHELL_FAMILY", "") == "powershell":
            raise AnsibleActionFail(
                "krbprobe runs where the job runs (the execution environment), not on the Windows "
                "host: add 'delegate_to: localhost' to the task"
            )

        args = dict(self._task.args)
        warnings: list[str] = []
        # A keytab on the task replaces the password the credential would bring.
        use_password = "keytab" not in args

        group = args.pop("group", None)
        if group is not None:
            if "targets" in args or "targets_file" in args:
                raise AnsibleActionFail("krbprobe: 'group' and 'targets'/'targets_file' exclude each other")
            hosts = self._group_hosts(group, task_vars)
            # One run for the whole group: one TGT, the hosts probed concurrently, the report in
            # inventory order. Each host keeps its own winrm connection variables.
            resolved = []
            for name in hosts:
                variables = self._other_host_variables(task_vars, name)
                plugin = self._connection_of(variables)
                options, origins, extras = self._plugin_options(plugin, variables)
                resolved.append((name, plugin, options, origins, extras))
                warnings += ["%s: %s" % (name, w) for w in not_mirrored(extras)]
            args["targets"] = [self._target(name, c, o, g, e) for name, c, o, g, e in resolved]
            run_wide = [(name, run_wide_options(c, o, g, e, use_password)) for name, c, o, g, e in resolved]
            args.update(merge_run_wide(run_wide, args, warnings))
        else:
            variables = self._host_variables(task_vars)
            plugin = self._connection_of(variables)
            options, origins, extras = self._plugin_options(plugin, variables)
            if "targets" not in args and "targets_file" not in args:
                name = str(task_vars.get("inventory_hostname"))
                args["targets"] = [self._target(name, plugin, options, origins, extras)]
                warnings += not_mirrored(extras)
            for key, value in run_wide_options(plugin, options, origins, extras, use_password).items():
                args.setdefault(key, value)

        if "python" not in args and task_vars.get("ansible_playbook_python"):
            args["python"] = task_vars["ansible_playbook_python"]

        # The module never returns the password (lab/test_ansible.py checks it does not).
        try:
            result.update(self._execute_module(module_name="krbprobe", module_args=args, task_vars=task_vars))
        except AnsibleError as e:
            if "was not found in configured module paths" not in str(e):
                raise
            raise AnsibleActionFail(
                "the krbprobe binary is not installed as a module: copy it to library/krbprobe next to "
                "the playbook (playbooks/install-module.sh), or in the execution environment to "
                "/usr/share/ansible/plugins/modules/krbprobe"
            ) from e

        report = result.get("report")
        if isinstance(report, dict):
            result["report_lines"] = report_lines(report)
            result["verdicts"] = verdicts(report)
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        return result

    def _connection_of(self, variables: t.Mapping[str, t.Any]) -> str:
        """'psrp' or 'winrm': the inventory host's ansible_connection (templated). A delegated
        task's own connection is the delegate's (local), so only the host's variable counts;
        without one, winrm, krbprobe's default."""
        value = variables.get("ansible_connection")
        name = str(self._templar.template(value)) if value is not None else "winrm"
        short = name.removeprefix("ansible.builtin.")
        if short not in ("winrm", "psrp"):
            raise AnsibleActionFail(
                "krbprobe mirrors the winrm and psrp connections; this host's ansible_connection is "
                "%s" % name
            )
        return short

    def _plugin_options(self, plugin: str, variables: t.Mapping[str, t.Any]) -> tuple[dict, dict, dict]:
        """The inventory host's PLUGIN (winrm or psrp) connection options, as that plugin would
        get them.

        Same as TaskExecutor._set_connection_options() + Connection._resolve_option_variables()
        for a task that is not delegated: the plugin's variables templated, its ansible_<plugin>_*
        extras, and the keywords that reach it (remote_user, port, the connection password).
        Returns the options, their origins ('default', 'var: ansible_port', ...) and every
        ansible_<plugin>_* variable, templated.
        """
        # Loading the plugin class registers its option definitions with the config manager
        # (psrp's module imports without pypsrp installed: it only records HAS_PYPSRP).
        connection_loader.get("ansible.builtin." + plugin, class_only=True)
        prefix = "ansible_%s_" % plugin
        var_options: dict[str, t.Any] = {}
        for name in C.config.get_plugin_vars("connection", plugin):
            if name in variables:
                var_options[name] = self._templar.template(variables[name])
        extras = {
            name: var_options[name] if name in var_options else self._templar.template(value)
            for name, value in variables.items()
            if name.startswith(prefix)
        }
        keys = {"remote_user": self._task.remote_user, "port": self._task.port}
        if self._play_context.password:
            # TaskExecutor threads the connection password through the play context; the
            # option remote_password takes it through its alias 'password'. Differs in one
            # case: when the delegate (localhost) defines ansible_password, the play context
            # holds that one.
            keys["password"] = self._play_context.password
        options: dict[str, t.Any] = {}
        origins: dict[str, str] = {}
        for option in C.config.get_configuration_definitions("connection", plugin):
            # (ConfigManager.get_plugin_options_and_origins() does this, from ansible-core 2.17)
            options[option], origins[option] = C.config.get_config_value_and_origin(
                option, plugin_type="connection", plugin_name=plugin, keys=keys, variables=var_options
            )
        return options, origins, extras

    def _host_variables(self, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """task_vars without the delegate's connection values that delegation mixed in."""
        delegate = self._task.delegate_to
        if not delegate:
            return task_vars
        own = task_vars.get("hostvars", {}).get(task_vars.get("inventory_hostname"), {})
        delegated = task_vars.get("ansible_delegated_vars", {}).get(delegate, {})
        variables = dict(task_vars)
        for name in INJECTED_BY_DELEGATION:
            if name in variables and name not in own and variables[name] == delegated.get(name):
                del variables[name]
        return variables

    def _group_hosts(self, group: t.Any, task_vars: dict[str, t.Any]) -> list[str]:
        """The inventory hosts of GROUP (a group name or a list of them), in inventory order,
        each once."""
        names = [group] if isinstance(group, str) else group
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise AnsibleActionFail("krbprobe: 'group' must be an inventory group name or a list of them")
        groups = task_vars.get("groups", {})
        hosts: list[str] = []
        for name in names:
            if name not in groups:
                known = ", ".join(sorted(g for g in groups if g not in ("all", "ungrouped"))) or "none"
                raise AnsibleActionFail("krbprobe: no inventory group '%s' (groups: %s)" % (name, known))
            hosts += [h for h in groups[name] if h not in hosts]
        if not hosts:
            raise AnsibleActionFail("krbprobe: inventory group %s has no hosts" % ", ".join(names))
        return hosts

    def _other_host_variables(self, task_vars: dict[str, t.Any], name: str) -> dict[str, t.Any]:
        """Inventory host NAME's variables as hostvars has them (inventory, group_vars,
        host_vars, extra vars; not this play's vars), untouched by this task's delegation."""
        hostvars = task_vars.get("hostvars", {})
        if name not in hostvars:
            raise AnsibleActionFail("krbprobe: inventory host %s has no variables (hostvars)" % name)
        host = hostvars[name]
        # Only the connection's own variables and ansible_winrm_*: templating every variable of
        # every host would cost more than the probe, and fail on unrelated broken ones.
        connection_loader.get("ansible.builtin.psrp", class_only=True)
        wanted = set(C.config.get_plugin_vars("connection", "winrm"))
        wanted |= set(C.config.get_plugin_vars("connection", "psrp")) | {"ansible_connection"}
        return {k: host[k] for k in host.keys()
                if k in wanted or k.startswith(("ansible_winrm_", "ansible_psrp_"))}

    def _target(self, name: str, plugin: str, options: dict, origins: dict, extras: dict) -> dict[str, t.Any]:
        """The inventory host NAME as a krbprobe target with its connection settings."""
        if plugin == "psrp":
            return psrp_target(name, options, origins)
        target: dict[str, t.Any] = {"name": name}
        # remote_addr: inventory_hostname < ansible_host < ansible_winrm_host (last one wins).
        if origins.get("remote_addr") in ("var: ansible_host", "var: ansible_winrm_host"):
            target["ansible_host"] = str(options["remote_addr"])
        # port: ansible_port < ansible_winrm_port, else the port keyword, else 5986 (which
        # krbprobe also defaults to, so the default is left for it to report as a default).
        if origins.get("port") != "default" and options.get("port") is not None:
            target["port"] = int(options["port"])
        if options.get("scheme"):
            target["scheme"] = str(options["scheme"])
        if options.get("transport"):
            target["transport"] = [str(x) for x in options["transport"]]
        # pywinrm arguments that the winrm plugin passes through as extras.
        for var, key in (
            ("ansible_winrm_service", "service"),
            ("ansible_winrm_kerberos_hostname_override", "hostname_override"),
        ):
            if extras.get(var):
                target[key] = str(extras[var])
        if "ansible_winrm_kerberos_delegation" in extras:
            target["kerberos_delegation"] = boolean(extras["ansible_winrm_kerberos_delegation"], strict=False)
        if origins.get("kinit_args", "default") != "default" and options.get("kinit_args"):
            target["kinit_args"] = str(options["kinit_args"])
        return target


def psrp_target(name: str, options: dict, origins: dict) -> dict[str, t.Any]:
    """The inventory host NAME as a krbprobe psrp target: the options the host's variables
    (or a keyword) set; defaults are left to krbprobe, which applies the running
    ansible-core's (it gets the version as _ansible_version)."""
    psrp: dict[str, t.Any] = {}
    if origins.get("remote_addr") in ("var: ansible_host", "var: ansible_psrp_host"):
        psrp["host"] = str(options["remote_addr"])
    if origins.get("port") != "default" and options.get("port") is not None:
        psrp["port"] = int(options["port"])
    for option in PSRP_OPTIONS:
        if origins.get(option, "default") == "default" or options.get(option) is None:
            continue
        value = options[option]
        psrp[option] = value if isinstance(value, bool) else str(value)
    return {"name": name, "connection": "psrp", "psrp": psrp}


def not_mirrored(extras: dict[str, t.Any]) -> list[str]:
    """Warnings for the host's ansible_winrm_* settings that krbprobe does not model."""
    return [
        text.format(value=extras[name])
        for name, (applies, text) in NOT_MIRRORED.items()
        if name in extras and applies(extras[name])
    ]


def run_wide_options(
    plugin: str, options: dict, origins: dict, extras: dict, use_password: bool
) -> dict[str, t.Any]:
    """Module options that hold for the whole run, from one host's connection settings and
    the credential, as its connection would use them (the password only when use_password:
    not with a keytab)."""
    out: dict[str, t.Any] = {}
    if plugin == "psrp":
        # psrp: no kinit; cert_validation/ca_cert as pypsrp takes them; the credential.
        if str(options.get("cert_validation", "")).lower() == "ignore":
            out["insecure"] = True
        if options.get("ca_cert") and os.path.isfile(str(options["ca_cert"])):
            out["ca_file"] = str(options["ca_cert"])
        if options.get("remote_user"):
            out["user"] = str(options["remote_user"])
        if use_password and options.get("remote_password"):
            out["password"] = str(options["remote_password"])
        return out
    if str(extras.get("ansible_winrm_server_cert_validation", "")).lower() == "ignore":
        # Like the connection: no certificate validation. krbprobe still reports what is
        # wrong with the certificate, as a warning, and marks the report insecure.
        out["insecure"] = True
    if origins.get("kerberos_command") != "default":
        out["kinit_cmd"] = str(options.get("kerberos_command"))
    if "ansible_winrm_realm" in extras:
        out["realm"] = extras["ansible_winrm_realm"]
    if origins.get("kinit_env_vars") != "default":
        out["kinit_env_vars"] = list(options.get("kinit_env_vars") or [])
    if os.path.isfile(str(extras.get("ansible_winrm_ca_trust_path", ""))):
        # pywinrm takes a file or a directory (or 'legacy_requests'); krbprobe a PEM file.
        out["ca_file"] = str(extras["ansible_winrm_ca_trust_path"])
    # The machine credential: ansible_user / ansible_winrm_user, else the remote_user
    # keyword, whose default is -u (AWX passes the machine credential's user that way).
    if options.get("remote_user"):
        out["user"] = str(options["remote_user"])
    # ansible_password / ansible_winrm_pass / ansible_winrm_password, else the connection
    # password (AWX: the machine credential, --ask-pass / --connection-password-file).
    # Like the connection, an empty password means none, and kinit_mode=manual means
    # Ansible uses the ticket cache it finds (KRB5CCNAME) and never the password.
    password = options.get("remote_password")
    if use_password and password and options.get("kerberos_mode") != "manual":
        out["password"] = str(password)
    return out


# Run-wide options that must be the same for every host of a group run: one TGT is one
# principal with one password (or the ticket cache).
MUST_AGREE = ("user", "password")


def merge_run_wide(
    per_host: list[tuple[str, dict[str, t.Any]]], args: dict[str, t.Any], warnings: list[str]
) -> dict[str, t.Any]:
    """The run-wide options of a group run: the task's own, else the hosts' when they agree.

    krbprobe has one value of each for the whole run, so where the hosts differ:
    - user, password: they cannot share one run; that fails, naming the hosts (never a
      password);
    - ca_file: the one CA file that hosts name is trusted for all of them (it only adds trust);
      several different files: the first, with a warning;
    - insecure: only when every host ignores certificate validation; otherwise certificates
      are validated, with a warning naming the hosts that would not validate them;
    - anything else: the first host's value, with a warning.
    """
    out: dict[str, t.Any] = {}
    # The credential first: when the users differ, that is the message to see.
    keys = sorted({k for _, opts in per_host for k in opts} - set(args),
                  key=lambda k: (k not in MUST_AGREE, k != "user", k))
    first_host = per_host[0][0]
    for key in keys:
        # Hosts by value, in order; the value itself is shown only for the user.
        values: dict[str, tuple[t.Any, list[str]]] = {}
        for name, opts in per_host:
            values.setdefault(repr(opts.get(key)), (opts.get(key), []))[1].append(name)
        if len(values) == 1:
            value = per_host[0][1].get(key)
        elif key in MUST_AGREE:
            who = "; ".join(
                "%s: %s" % (", ".join(names), value or "none") if key == "user" else ", ".join(names)
                for value, names in values.values()
            )
            raise AnsibleActionFail(
                "krbprobe: the hosts of the group differ in their %s (%s); one run uses one "
                "credential: probe them in separate tasks, or set '%s' on the task" % (key, who, key)
            )
        elif key == "ca_file":
            named = [v for v, _ in values.values() if v is not None]
            value = named[0]
            if len(named) > 1:
                warnings.append(
                    "the hosts of the group name different ansible_winrm_ca_trust_path files; this run "
                    "trusts %s only" % value
                )
        elif key == "insecure":
            value = None
            ignoring = values[repr(True)][1]
            warnings.append(
                "%s ignore certificate validation (ansible_winrm_server_cert_validation=ignore) but the "
                "other hosts of the group do not: this run validates certificates for all of them"
                % ", ".join(ignoring)
            )
        else:
            value = per_host[0][1].get(key)
            warnings.append(
                "the hosts of the group differ in %s; this run uses %s's value for all of them"
                % (key, first_host)
            )
        if value is not None:
            out[key] = value
    return out

def verdicts(report: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Per target (inventory host): 'fail' when one of its checks or a run-wide check failed
    (a failed kinit fails every host), with the failed checks' codes in report order."""
    checks = report.get("checks") or []
    run_wide = [c.get("code") for c in checks if not c.get("target") and c.get("status") == "fail"]
    out = {}
    for name in (report.get("tool") or {}).get("targets") or []:
        own = [c.get("code") for c in checks if c.get("target") == name and c.get("status") == "fail"]
        failed = run_wide + own
        out[name] = {"verdict": "fail" if failed else "pass", "failed": failed}
    return out


def report_lines(report: dict[str, t.Any]) -> list[str]:
    """krbprobe's report as text lines for the job output: 'STATUS id target: summary', hints.

    With several targets, as krbprobe's text report: the run-wide checks, one line per target
    (its result: ok, or its failed and warned codes), then only what failed or warned, so that
    a group of hundreds of hosts stays readable in the job output.
    """
    checks = report.get("checks") or []
    targets = (report.get("tool") or {}).get("targets") or []
    counts = {"pass": 0, "warn": 0, "fail": 0, "skip": 0}
    for check in checks:
        status = str(check.get("status", ""))
        counts[status] = counts.get(status, 0) + 1

    def line(check: dict[str, t.Any]) -> list[str]:
        status = str(check.get("status", ""))
        where = " %s" % check["target"] if check.get("target") else ""
        out = ["%-4s %s%s: %s [%s]"
               % (status.upper(), check.get("id"), where, check.get("summary"), check.get("code"))]
        if status in ("fail", "warn") and check.get("hint"):
            out.append("     hint: %s" % check["hint"])
        return out

    lines: list[str] = []
    if len(targets) <= 1:
        for check in checks:
            lines += line(check)
    else:
        for check in checks:
            if not check.get("target"):
                lines += line(check)
        width = max(len(str(n)) for n in targets)
        for name in targets:
            own = [c for c in checks if c.get("target") == name]
            bad = [c.get("code") for c in own if c.get("status") == "fail"]
            bad += [c.get("code") for c in own if c.get("status") == "warn"]
            lines.append("     %-*s  %s" % (width, name, ", ".join(bad) if bad else "ok"))
        problems = [c for c in checks if c.get("target") and c.get("status") in ("fail", "warn")]
        if problems:
            lines.append("Failed or warned:")
            for check in problems:
                lines += line(check)
    lines.append(
        "%s: %d passed, %d warned, %d failed, %d skipped"
        % (str(report.get("verdict", "")).upper(),
           counts["pass"], counts["warn"], counts["fail"], counts["skip"])
    )
    return lines
