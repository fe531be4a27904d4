"""Files shipped beside the code (`ipsec-ha-monitor assets`): pyproject.toml
installs dashboards/ as `monitor.shipped.dashboards` and docs/examples/ as
`monitor.shipped.examples`; a checkout keeps them at those paths."""
