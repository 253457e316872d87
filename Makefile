# Two commands do all the set-up:   make demo   |   make test
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test test-fast test-slow bench clean check-java

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "sparkw2v needs Python >= 3.10, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

check-java:
	@command -v java >/dev/null 2>&1 || { echo "Java 17 is required but 'java' was not found: install it with 'sudo apt-get install openjdk-17-jre-headless' (or set JAVA_HOME)"; exit 1; }

## Train on the bundled corpus and print nearest neighbours.
demo: check-java $(STAMP)
	$(PY) jobs/train_word2vec.py --input data/wiki-demo.txt.gz --output demo-output --overwrite \
	    --architecture skipgram --loss ns --epochs 10 --negative 10 --sample 1e-4 --min-count 5 \
	    --num-partitions 2 --local-copy executor --master 'local[2]' \
	    --eval-pairs data/wordsim353.tsv --neighbors king,paris,computer,music

## The whole test suite: the default tests, then the slow quality and cluster tests.
test: check-java $(STAMP)
	bash .ci/tests.sh

test-fast: check-java $(STAMP)
	$(PY) -m pytest -m "not slow" -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_kernels.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
