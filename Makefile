# The two commands of the README: `make demo` and `make test`. Both set up what is missing first.
.PHONY: demo test lint bootstrap benchmark

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	.venv/bin/python scripts/demo.py

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/mypy

test: lint
	@scripts/services.sh
	.venv/bin/python -m pytest -n 2 --dist loadgroup

benchmark: bootstrap
	.venv/bin/python benchmarks/bridge.py --json
	.venv/bin/python benchmarks/provision.py --json
	.venv/bin/python benchmarks/harvest.py --json
	.venv/bin/python benchmarks/remind.py --json
	.venv/bin/python benchmarks/documents.py --json
	.venv/bin/python benchmarks/console.py --json
	.venv/bin/python benchmarks/lti.py --json
