"""Files shipped beside the code (`ipsec-ha-monitor assets`): pyproject.toml
installs dashboards/ as `monitor.shipped.dashboards`, docs/examples/ as
`monitor.shipped.examples` and docs/runbooks.md as
`monitor/shipped/runbooks.md`; a checkout keeps them at those paths."""
