.PHONY: run test bench
run:
	scripts/run
test:
	scripts/test
bench:
	.venv/bin/python -m pytest tests/bench -s -p no:cacheprovider --override-ini addopts=
