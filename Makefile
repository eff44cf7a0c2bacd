.PHONY: setup demo test test-production bench

setup:  ## create .venv and install the provider, the sandbox and the dev tools
	bash scripts/setup.sh

demo: setup  ## start the sandbox, run the example DAGs end to end with deferral, print the media
	.venv/bin/python scripts/run_demo.py

test: setup  ## lint, type-check and run every test
	bash scripts/test.sh

test-production: setup  ## the cluster suite on PostgreSQL + Celery/Redis (needs both services on loopback)
	bash scripts/test_production.sh

bench: setup  ## measure triggers, polling cost, worker-slot time and import cost; writes docs/benchmarks.*
	.venv/bin/python -m bench
