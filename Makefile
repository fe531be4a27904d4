# Everything runs from a virtual environment this Makefile creates (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLES := tests/fixtures/cisco_ios

.PHONY: install demo lab test lint bench index clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The embedded default until the simulated lab lands: parse the packetlife
# pair's saved outputs (R1 standby, R2 active) and print the records.
demo: install
	$(VENV)/bin/ipsec-ha-monitor parse --command "show redundancy states" $(SAMPLES)/show_redundancy_states/packetlife_r1_standby_hot.raw
	$(VENV)/bin/ipsec-ha-monitor parse --command "sh red inter" $(SAMPLES)/show_redundancy_inter-device/packetlife_r1_standby.raw
	$(VENV)/bin/ipsec-ha-monitor parse --command "show standby" $(SAMPLES)/show_standby/packetlife_r2_active.raw

# The simulated lab (R1, R2, R4 over SSH on 127.0.0.1) until Ctrl-C; from another
# terminal: .venv/bin/ipsec-ha-monitor lab trigger failover
lab: install
	$(VENV)/bin/ipsec-ha-monitor lab --time-scale 5 --write-inventory lab.yml

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest

bench: install
	$(PY) bench/parse_bench.py
	$(PY) bench/lab_bench.py

# Regenerate textfsm_templates/index after editing monitor/parse/commands.py.
index: install
	$(PY) -m monitor.parse.write_index

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
