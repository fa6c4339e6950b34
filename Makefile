.PHONY: run test bench
run:
	scripts/run
test:
	scripts/test
bench:
	.venv/bin/python -m pytest tests/bench tests/bench/console_relay.py tests/bench/upload_stream.py -s -p no:cacheprovider --override-ini addopts=
