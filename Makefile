# Everything runs from a virtual environment this Makefile creates (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SAMPLES := tests/fixtures/cisco_ios

.PHONY: install demo demo-check lab test test-unit test-latest lock test-legacy-ssh fakenos lint bench index dashboards clean

# Reproducible: every package at the version constraints.txt pins (the
# ranges in pyproject.toml are what users get; `make test-latest` tries the
# newest versions they allow).
CONSTRAINTS := constraints.txt
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[test,lab]'
	touch $@

# `make install` says how to reach the command: .venv/bin is not on PATH
# until the virtualenv is activated (the README's commands use the bare name).
INSTALLED := $(VENV)/.installed
install: $(INSTALLED)
	@echo "ipsec-ha-monitor is installed in $(abspath $(VENV)); to run it by name, as the README does:"
	@echo "    . $(VENV)/bin/activate      (in each new shell; or call $(VENV)/bin/ipsec-ha-monitor)"

# The embedded default: the simulated lab (R1, R2, R4-R6 over SSH on
# 127.0.0.1) and the exporter over it, until Ctrl-C. No configuration.
# `make demo PORT=9500` serves on another port; BASE_PORT=2200 puts the
# routers' SSH on 2200-2204 (0: any free ports). The demo prints the
# command that triggers a failover and the `check` command for its
# inventory, with their full paths: paste them as they are.
PORT ?= 9477
BASE_PORT ?= 0
# The lab's control port (where `lab trigger ...` reaches it): one each for
# make demo, make lab and make demo-check, so they can run side by side.
DEMO_CONTROL_PORT ?= 9180
LAB_CONTROL_PORT ?= 9179
DEMO_CHECK_CONTROL_PORT ?= 9178
MONITOR := $(abspath $(VENV))/bin/ipsec-ha-monitor
demo: $(INSTALLED)
	$(MONITOR) demo --web.listen-address 127.0.0.1:$(PORT) --base-port $(BASE_PORT) --control-address 127.0.0.1:$(DEMO_CONTROL_PORT)

# `check` on the simulated lab (R1, R2, R4): at baseline, then during and
# after a failover (state kept between checks, so R2's reload is reported).
# The failover is triggered with the very command the lab prints. The lab
# stops when the target ends.
DEMO_DIR := .demo
DEMO_CONTROL := 127.0.0.1:$(DEMO_CHECK_CONTROL_PORT)
demo-check: $(INSTALLED)
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@$(MONITOR) lab --time-scale 10 --write-inventory $(DEMO_DIR)/lab.yml --base-port $(BASE_PORT) \
		--control-address $(DEMO_CONTROL) > $(DEMO_DIR)/lab.log 2>&1 & echo $$! > $(DEMO_DIR)/lab.pid; \
	trap 'kill $$(cat $(DEMO_DIR)/lab.pid) 2>/dev/null' EXIT; \
	for i in $$(seq 100); do grep -q '^try: ' $(DEMO_DIR)/lab.log 2>/dev/null && break; sleep 0.1; done; \
	grep -q '^try: ' $(DEMO_DIR)/lab.log || { cat $(DEMO_DIR)/lab.log; exit 1; }; \
	check="$(MONITOR) check --config.file $(DEMO_DIR)/lab.yml --state $(DEMO_DIR)/state.json --time.scale 10"; \
	trigger=$$(sed -n 's/^try: //p' $(DEMO_DIR)/lab.log); \
	echo "== check at baseline: $$check"; $$check; \
	echo "== $$trigger"; eval "$$trigger" || exit 1; sleep 0.5; \
	echo "== check while R2 reloads"; $$check; \
	sleep 5; echo "== check once R2 is back"; $$check; \
	echo "(exit codes 1 above are the point: the pair was unhealthy)"; true

# The simulated lab (R1, R2, R4 over SSH on 127.0.0.1) until Ctrl-C; it
# writes lab.yml and prints the command (full path) that triggers a failover
# from another terminal. BASE_PORT=2200: SSH on 2200-2202 (0: any free ports).
lab: $(INSTALLED)
	$(MONITOR) lab --time-scale 5 --write-inventory lab.yml --base-port $(BASE_PORT) --control-address 127.0.0.1:$(LAB_CONTROL_PORT)

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

# The fast subset: no lab, SSH, HTTP server, Prometheus or subprocess (tests
# marked `integration` are left out). `make test` runs everything.
test-unit: $(INSTALLED)
	$(PY) -m pytest -m "not integration"

# The whole suite against the newest versions pyproject.toml allows, in a
# venv of its own made afresh each time (no constraints): what a user who
# installs today gets. Run it before `make lock`, and when a dependency
# releases. It cannot run on a schedule here; docs/contributing.md says when.
VENV_LATEST ?= .venv-latest
test-latest:
	$(PYTHON) -m venv --clear $(VENV_LATEST)
	$(VENV_LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test,lab]'
	$(VENV_LATEST)/bin/python -m pip list --format=freeze
	$(VENV_LATEST)/bin/python -m ruff check .
	$(VENV_LATEST)/bin/python -m mypy
	$(VENV_LATEST)/bin/python -m pytest -p no:cacheprovider

# Pin what .venv-latest holds (after `make test-latest` passed) into constraints.txt.
lock:
	test -x $(VENV_LATEST)/bin/python || { echo "run make test-latest first"; exit 1; }
	{ sed -n '1,3p' $(CONSTRAINTS); $(VENV_LATEST)/bin/python -m pip freeze --all --exclude-editable \
		| grep -v -e '^pip==' -e '^ipsec-ha-monitor'; } > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS)

# The SSH options' tests under Paramiko 4, which still has SHA-1 (old IOS).
VENV_PAR4 ?= .venv-par4
# Pinned like .venv, but for Paramiko, which netmiko[par4] holds below 5.
$(VENV_PAR4)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV_PAR4)
	$(VENV_PAR4)/bin/python -m pip install --quiet --upgrade pip
	grep -v '^paramiko==' $(CONSTRAINTS) > $(VENV_PAR4)/constraints.txt
	$(VENV_PAR4)/bin/python -m pip install --quiet -c $(VENV_PAR4)/constraints.txt -e '.[test,lab]' 'netmiko[par4]'
	touch $@

test-legacy-ssh: $(VENV_PAR4)/.installed
	$(VENV_PAR4)/bin/python -m pytest -p no:cacheprovider tests/test_ssh_options.py

# FakeNOS, the third-party IOS emulator of tests/test_fakenos.py, in its own
# environment (it pins Paramiko < 5; the project runs Paramiko 5). The tests
# build it themselves on first use (same path, same stamp); this builds it ahead.
FAKENOS ?= fakenos==1.2.1
VENV_FAKENOS ?= .venv-fakenos
$(VENV_FAKENOS)/.installed:
	$(PYTHON) -m venv --clear $(VENV_FAKENOS)
	$(VENV_FAKENOS)/bin/python -m pip install --quiet --disable-pip-version-check '$(FAKENOS)'
	echo '$(FAKENOS)' > $@

fakenos: $(VENV_FAKENOS)/.installed

bench: $(INSTALLED)
	$(PY) bench/parse_bench.py
	$(PY) bench/parse_worst_bench.py
	$(PY) bench/lab_bench.py
	$(PY) bench/poll_bench.py
	$(PY) bench/scrape_bench.py
	$(PY) bench/load_bench.py
	$(PY) bench/isolation_bench.py
	$(PY) bench/pathological_scrape_bench.py
	$(PY) bench/syslog_latency_bench.py
	$(PY) bench/syslog_flood_bench.py

# Regenerate textfsm_templates/index after editing ipsec_ha_monitor/parse/commands.py.
index: $(INSTALLED)
	$(PY) -m ipsec_ha_monitor.parse.write_index

# The Grafana dashboards and the alert rules' unit-test file are written by
# code (dashboards/grafana/build.py, dashboards/prometheus/build_rule_tests.py);
# the tests check the committed files are current. promtool: Debian's prometheus.
dashboards: $(INSTALLED)
	$(PY) dashboards/grafana/build.py
	$(PY) dashboards/prometheus/build_rule_tests.py
	cd dashboards/prometheus && promtool check rules ipsecha-rules.yml && promtool test rules ipsecha-rules.test.yml

clean:
	rm -rf $(VENV) $(VENV_PAR4) $(VENV_LATEST) $(VENV_FAKENOS) $(VENV_FAKENOS).lock $(DEMO_DIR) .pytest_cache .ruff_cache *.egg-info
