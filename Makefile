.PHONY: setup demo test test-system test-browser screenshots test-production bench

setup:  ## create .venv and install the provider, the sandbox and the dev tools
	bash scripts/setup.sh

demo: setup  ## start the sandbox, run the example DAGs end to end with deferral, print the media
	.venv/bin/python scripts/run_demo.py

test:  ## the fast loop: lint, type-check, docs, unit, integration, scenario and benchmark tests (sets up .venv first)
	bash scripts/test.sh

test-system: setup  ## the suites on whole Airflow deployments (SQLite, LocalExecutor): webhooks, review, HA (tests/system)
	.venv/bin/python -m pytest -q -p no:cacheprovider tests/system

test-browser: setup  ## Airflow's UI in headless Chromium: sign-in, Media tab, Clipgen page, review (tests/browser)
	bash scripts/setup_browser.sh
	.venv/bin/python -m pytest -q -p no:cacheprovider tests/browser

screenshots: setup  ## run the browser suite and write its screenshots into docs/images
	bash scripts/setup_browser.sh
	CLIPGEN_SCREENSHOTS=docs/images .venv/bin/python -m pytest -q -p no:cacheprovider tests/browser

test-production: setup  ## the cluster suite on PostgreSQL + Celery/Redis (needs both services on loopback)
	bash scripts/test_production.sh

bench: setup  ## measure triggers, polling cost, worker-slot time and import cost; writes docs/benchmarks.*
	.venv/bin/python -m bench
