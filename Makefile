.PHONY: setup test demo bench clean

setup:
	@bash ci/setup

test: setup
	@bash ci/test

demo: setup
	@.venv/bin/lzr-sim run --profile unexpected --hosts 30 --seed 1 --show-records 6

bench: setup
	@for b in bench/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

clean:
	rm -rf .venv build *.egg-info
