#!/usr/bin/env bash
# scripts/test.sh - the README's test command: every test krbprobe has.
#   1. setup (idempotent): packages, lab tools, static MIT krb5
#   2. rustfmt and clippy (-D warnings)
#   2a. the lab's Python and the shell scripts: ruff, mypy, shellcheck (scripts/lint.sh)
#   2b. cargo-deny: licenses, bans, sources; advisories when the RustSec DB is reachable
#   3. the release binary is statically linked and names its MIT krb5
#   4. unit, CLI, snapshot and MIT-differential tests (cargo test)
#   5. end-to-end tests against the lab (real MIT KDC, dnsmasq, WinRM stand-in): every
#      scenario of lab/scenarios.toml, then the tests that are more than one scenario
#   6. the lab's WinRM stand-in against pywinrm (the client Ansible uses), from PyPI
#   6'. its PowerShell endpoint against pypsrp (Ansible's psrp connection), from PyPI
#   6a. a Samba AD DC (lab/krblab/samba.py) against MIT's kinit/kvno: account states, NTSTATUS
#   6b. diagnose.yml/investigate.yml with real ansible-core, the module, ansible-lint (production)
#   7. the lab's own selftest with MIT's kinit/kvno
#   8. the fidelity matrix: krbprobe vs. kinit + pywinrm in every lab scenario (docs/failure-modes.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step setup
scripts/setup.sh

step "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --all-targets --features lab -- -D warnings

step "Python and shell lint: ruff, mypy, shellcheck (scripts/lint.sh, pyproject.toml)"
scripts/lint.sh

step "lab/scenarios.toml is valid and lab/README.md's generated tables are current"
PYTHONPATH=lab python3 -m krblab.readme --check

step "supply chain: cargo-deny licenses, bans, sources and RustSec advisories (deny.toml)"
scripts/deny.sh

step "release binary is static"
cargo build --release
bin=target/x86_64-unknown-linux-musl/release/krbprobe
file "$bin"
file "$bin" | grep -q 'statically linked'
"$bin" --version

step "container: Containerfile, execution environment (ansible-builder), Kubernetes manifests"
container/test.sh

step "unit, CLI and snapshot tests"
cargo test

# The end-to-end tests use this venv too: it is the "Python of an EE" for ee-runtime.
venv=$(lab/pywinrm-venv.sh)

step "every scenario of lab/scenarios.toml against the lab (tests/lab_scenarios.rs)"
lab/run -q -- cargo test --features lab --test lab_scenarios

step "end-to-end tests in the lab"
lab/run -q -- cargo test --features lab --test lab

step "hostile servers in the lab: hung, truncated, absurd, trickling, oversized, bad certificates"
lab/run -q -- cargo test --features lab --test hostile

step "the lab's WinRM stand-in against the real client (pywinrm from PyPI)"
lab/run -q -- "$venv/bin/pytest" -q lab/test_pywinrm.py

step "the stand-in's PowerShell endpoint against Ansible's psrp client (pypsrp from PyPI)"
lab/run -q -- "$venv/bin/pytest" -q lab/test_pypsrp.py

step "a real Samba AD DC in the lab: every account state's KRB-ERROR and NTSTATUS (tests/fixtures/samba)"
lab/run -q -- "$venv/bin/pytest" -q lab/test_samba.py

step "krbprobe as an Ansible module (playbooks/, real ansible-core and ansible-lint) against the lab"
ansible_venv=$(lab/ansible-venv.sh)
playbooks/install-module.sh
# The psrp plugin's documented defaults of every ansible-core minor version (read, not installed).
wheels=$(KRBPROBE_LAB_PYTHON="$ansible_venv/bin/python" lab/ansible-core-wheels.sh)
lab/run -q -- env KRBPROBE_ANSIBLE_CORE_WHEELS="$wheels" "$ansible_venv/bin/pytest" -q lab/test_ansible.py

step "lab selftest (MIT kinit/kvno against the same lab)"
lab/run -q -- lab/selftest.sh

step "fidelity matrix (krbprobe vs. kinit + pywinrm, docs/failure-modes.md up to date)"
lab/run -q -- "$venv/bin/python" -m krblab.fidelity --krbprobe "$bin" --check
