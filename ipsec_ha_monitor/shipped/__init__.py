"""Files shipped beside the code (`ipsec-ha-monitor assets`): pyproject.toml
installs dashboards/ as `ipsec_ha_monitor.shipped.dashboards`, docs/examples/ as
`ipsec_ha_monitor.shipped.examples`, textfsm_templates/ as
`ipsec_ha_monitor.shipped.textfsm_templates` and docs/runbooks.md as
`ipsec_ha_monitor/shipped/runbooks.md`; a checkout links to them from here."""
