# Copyright krbprobe authors
# SPDX-License-Identifier: Apache-2.0
"""Action plugin for the krbprobe module: probe a Windows host as its winrm connection would.

The module (the static krbprobe binary, ``library/krbprobe``) runs in the job's execution
environment: the task is delegated to localhost. This plugin fills the module's arguments that
the task leaves out from the *inventory host's* winrm connection settings, resolved the way
ansible-core's winrm connection plugin resolves them (same variables, same precedence, same
defaults: the option definitions are the winrm plugin's own), and from the job's machine
credential (``-u`` / ``remote_user`` and the connection password), then runs the module.

The password goes into the module's arguments only (the args file in Ansible's remote tmp dir,
a directory of mode 0700 that Ansible deletes after the run); it is never put into the task
result.
"""

from __future__ import annotations

import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader

# Variables that ConnectionBase.update_vars() adds to a delegated task's variables with the
# *delegate's* values (the local connection's: ansible_host=localhost, ansible_user=-u) when the
# inventory host does not define them. Passwords are never added.
INJECTED_BY_DELEGATION = ("ansible_host", "ansible_port", "ansible_user")

# ansible_winrm_* settings krbprobe does not model, and what that means for its verdict.
NOT_MIRRORED = {
    "ansible_winrm_path": (
        lambda v: str(v) != "/wsman",
        "krbprobe probes /wsman, not ansible_winrm_path={value}",
    ),
    "ansible_winrm_message_encryption": (
        lambda v: str(v).lower() == "never",
        "ansible_winrm_message_encryption=never: krbprobe encrypts the messages as pywinrm's "
        "default (auto) does",
    ),
}


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
        options, origins, extras = self._winrm_options(task_vars)
        warnings: list[str] = []

        if "targets" not in args and "targets_file" not in args:
            args["targets"] = [self._target(task_vars, options, origins, extras)]
            for name, (applies, text) in NOT_MIRRORED.items():
                if name in extras and applies(extras[name]):
                    warnings.append(text.format(value=extras[name]))
        if (
            "insecure" not in args
            and str(extras.get("ansible_winrm_server_cert_validation", "")).lower() == "ignore"
        ):
            # Like the connection: no certificate validation. krbprobe still reports what is
            # wrong with the certificate, as a warning, and marks the report insecure.
            args["insecure"] = True
        if "kinit_cmd" not in args and origins.get("kerberos_command") != "default":
            args["kinit_cmd"] = str(options.get("kerberos_command"))
        if "realm" not in args and "ansible_winrm_realm" in extras:
            args["realm"] = extras["ansible_winrm_realm"]
        if "kinit_env_vars" not in args and origins.get("kinit_env_vars") != "default":
            args["kinit_env_vars"] = list(options.get("kinit_env_vars") or [])
        if "ca_file" not in args and os.path.isfile(str(extras.get("ansible_winrm_ca_trust_path", ""))):
            # pywinrm takes a file or a directory (or 'legacy_requests'); krbprobe a PEM file.
            args["ca_file"] = str(extras["ansible_winrm_ca_trust_path"])

        # The machine credential: ansible_user / ansible_winrm_user, else the remote_user
        # keyword, whose default is -u (AWX passes the machine credential's user that way).
        if "user" not in args and options.get("remote_user"):
            args["user"] = str(options["remote_user"])
        # ansible_password / ansible_winrm_pass / ansible_winrm_password, else the connection
        # password (AWX: the machine credential, --ask-pass / --connection-password-file).
        # Like the connection, an empty password means none, and kinit_mode=manual means
        # Ansible uses the ticket cache it finds (KRB5CCNAME) and never the password.
        password = options.get("remote_password")
        if (
            "password" not in args
            and "keytab" not in args
            and password
            and options.get("kerberos_mode") != "manual"
        ):
            args["password"] = str(password)

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
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        return result

    def _winrm_options(self, task_vars: dict[str, t.Any]) -> tuple[dict, dict, dict]:
        """The inventory host's winrm connection options, as the winrm plugin would get them.

        Same as TaskExecutor._set_connection_options() + Connection._resolve_option_variables()
        for a task that is not delegated: the plugin's variables templated, its ansible_winrm_*
        extras, and the keywords that reach it (remote_user, port, the connection password).
        Returns the options, their origins ('default', 'var: ansible_port', ...) and every
        ansible_winrm_* variable, templated.
        """
        # Loading the plugin class registers its option definitions with the config manager.
        connection_loader.get("ansible.builtin.winrm", class_only=True)
        variables = self._host_variables(task_vars)
        var_options: dict[str, t.Any] = {}
        for name in C.config.get_plugin_vars("connection", "winrm"):
            if name in variables:
                var_options[name] = self._templar.template(variables[name])
        # All ansible_winrm_* variables: the plugin's own and the extras it passes to pywinrm.
        extras = {
            name: var_options[name] if name in var_options else self._templar.template(value)
            for name, value in variables.items()
            if name.startswith("ansible_winrm_")
        }
        keys = {"remote_user": self._task.remote_user, "port": self._task.port}
        if self._play_context.password:
            # TaskExecutor threads the connection password through the play context; the
            # winrm option remote_password takes it through its alias 'password'. Differs in one
            # case: when the delegate (localhost) defines ansible_password, the play context
            # holds that one.
            keys["password"] = self._play_context.password
        options: dict[str, t.Any] = {}
        origins: dict[str, str] = {}
        for option in C.config.get_configuration_definitions("connection", "winrm"):
            # (ConfigManager.get_plugin_options_and_origins() does this, from ansible-core 2.17)
            options[option], origins[option] = C.config.get_config_value_and_origin(
                option, plugin_type="connection", plugin_name="winrm", keys=keys, variables=var_options
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

    def _target(self, task_vars: dict[str, t.Any], options: dict, origins: dict, extras: dict) -> dict[str, t.Any]:
        """The inventory host as a krbprobe target with its winrm connection settings."""
        name = str(task_vars.get("inventory_hostname"))
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
        return target


def report_lines(report: dict[str, t.Any]) -> list[str]:
    """krbprobe's report as text lines for the job output: 'STATUS id target: summary', hints."""
    lines = []
    counts = {"pass": 0, "warn": 0, "fail": 0, "skip": 0}
    for check in report.get("checks") or []:
        status = str(check.get("status", ""))
        counts[status] = counts.get(status, 0) + 1
        where = " %s" % check["target"] if check.get("target") else ""
        lines.append("%-4s %s%s: %s [%s]" % (status.upper(), check.get("id"), where, check.get("summary"), check.get("code")))
        if status in ("fail", "warn") and check.get("hint"):
            lines.append("     hint: %s" % check["hint"])
    lines.append(
        "%s: %d passed, %d warned, %d failed, %d skipped"
        % (str(report.get("verdict", "")).upper(), counts["pass"], counts["warn"], counts["fail"], counts["skip"])
    )
    return lines
