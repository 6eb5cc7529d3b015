# The course's front door. `make lab` for students, `make test` for everyone,
# `make release` / `make grade` for TAs. Run `make help` for the list.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-requirements
PYTEST_ARGS ?=
GRADE_ARGS ?=

.PHONY: help env lab test test-fast release lock gil-lab grade bench clean

help:
	@echo "make lab        start JupyterLab with the nbgrader extensions"
	@echo "make test       run every test (notebooks, grading pipeline, modules)"
	@echo "make test-fast  the quick tier for the edit loop: modules, scan, release and lock checks"
	@echo "make release    regenerate release/ from source/ with nbgrader"
	@echo "make grade      autograde submitted/, write feedback and grades.csv"
	@echo "make gil-lab    run the full GIL experiment into build/gil-lab/"
	@echo "make bench      time every lesson under each start method"
	@echo "make lock       recompile requirements.txt from requirements.in"

# The environment is rebuilt whenever requirements.txt changes.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	$(BIN)/jupyter labextension enable --level=sys_prefix nbgrader >/dev/null 2>&1 || true
	@# Build matplotlib's font cache now: its first import says so on stderr,
	@# which would show up in the first lesson that plots.
	$(BIN)/python -c "import matplotlib.pyplot" 2>/dev/null
	@# Let nbgrader find this course's config from any working directory.
	@mkdir -p $(VENV)/etc/jupyter
	@echo 'load_subconfig(r"$(CURDIR)/nbgrader_config.py")' > $(VENV)/etc/jupyter/nbgrader_config.py
	@touch $@

env: $(STAMP)

# Jupyter refuses to run as root (containers, VMs) without --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(LAB_ARGS)

# One pytest worker per core; each test starts its own kernels.  Tests that run
# `make grade` form one xdist group (loadgroup): they share one graded class.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# No notebook, kernel or grader: under two minutes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

release: $(STAMP)
	$(BIN)/python -m coursetools.release

lock:
	$(PYTHON) -m pip install --quiet pip-tools
	$(PYTHON) -m piptools compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in

gil-lab: $(STAMP)
	$(BIN)/python -m coursetools.gil_lab

grade: $(STAMP)
	$(BIN)/python -m coursetools.grading $(GRADE_ARGS)

bench: $(STAMP)
	$(BIN)/python -m coursetools.bench.lessons

clean:
	rm -rf build autograded/*/ feedback .pytest_cache
