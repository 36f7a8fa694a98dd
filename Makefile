# Two commands do all set-up: `make run` (the default benchmark on embedded data)
# and `make test`. Each creates .venv and installs the package when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench results results-more lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# torch-mimicry's nets need only torch, but it declares TensorFlow: without its
	# dependencies, for the tests of mimicry: teachers (they skip where it is absent)
	$(BIN)/pip install --quiet --no-deps torch-mimicry==0.1.16
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/akdgbench run

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks/perf -q --benchmark-only
	$(BIN)/python -m benchmarks.perf.report

# the published digits comparison (README "Results"): resumes where a run stopped
results: $(STAMP)
	$(BIN)/akdgbench run --suite digits --out results/digits
	$(BIN)/python scripts/publish_results.py results/digits docs/results/digits \
		--methods vanilla,mse,lit,akdg

# its second table: the later methods, grown into the same run directory (same teacher)
results-more: $(STAMP)
	$(BIN)/akdgbench run --suite digits-more --out results/digits
	$(BIN)/python scripts/publish_results.py results/digits docs/results/digits-more \
		--methods vanilla,feature-kd,tinygan,ssgc,dcd

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
