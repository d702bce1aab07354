"""krblab - the krbprobe lab's shared Python package.

The lab (``lab/run``) is described once, in ``lab/scenarios.toml``; everything that needs to know
its hosts, KDCs, principals or scenarios reads them through :mod:`krblab.model`:

- :mod:`krblab.plan` turns the model into the files ``lab/run`` starts the lab from,
- :mod:`krblab.standin` is the WinRM stand-in (the Windows hosts),
- :mod:`krblab.fidelity` runs each scenario with krbprobe and with the real client,
- :mod:`krblab.readme` keeps the generated table in ``lab/README.md`` up to date,
- :mod:`krblab.samba` provisions and runs a Samba AD DC, the second KDC variant (its accounts
  are written by :mod:`krblab.samba_fixtures` with Samba's own Python bindings),
- :mod:`krblab.krberror` reads a KDC's KRB-ERROR and its NTSTATUS (for kdc_time and test_samba),
- :mod:`krblab.dnsq`, :mod:`krblab.http_probe`, :mod:`krblab.kdc_time` are the lab's own
  busybox: tiny probes the selftest uses where no client tool exists in the namespace.

Run the modules with ``PYTHONPATH=lab python3 -m krblab.NAME``; inside the lab ``PYTHONPATH``
is set already.
"""
