"""Write textfsm_templates/index from the command table (run after editing it)."""

from ipsec_ha_monitor.parse.commands import render_index
from ipsec_ha_monitor.parse.templates import INDEX_FILE, OUR_TEMPLATES

if __name__ == "__main__":
    (OUR_TEMPLATES / INDEX_FILE).write_text(render_index(), encoding="utf-8")
    print(f"wrote {OUR_TEMPLATES / INDEX_FILE}")
