# The course's front door. `make lab` for students, `make test` for everyone,
# `make release` / `make grade` for TAs. Run `make help` for the list.

# The Python that makes .venv: PYTHON=... if given, else the newest on PATH that the lock
# supports (coursetools/lockcheck.py says which those are), looked for once and only when needed.
# Free-threaded builds are never picked by themselves (lesson 08's measurements are made with the
# GIL): pass PYTHON=python3.14t for one.
PYTHON_CANDIDATES := python3.15 python3.14 python3.13 python3.12 python3.11 python3
ifeq ($(origin PYTHON),undefined)
PYTHON = $(eval PYTHON := $(shell for p in $(PYTHON_CANDIDATES); do \
    $$p -m coursetools.lockcheck --interpreter >/dev/null 2>&1 && command -v $$p && break; done))$(PYTHON)
endif
INSTALL_PYTHON_HINT := install CPython 3.11 to 3.15 (python.org, your package manager or pyenv), or pass PYTHON=/path/to/python3.X
# Prints which Python it is, or refuses it in one line (lockcheck exits 3 with the reason).
CHECK_PYTHON = if [ -z "$(PYTHON)" ]; then \
    echo "make: no Python on PATH that the lock supports (looked for $(PYTHON_CANDIDATES)): $(INSTALL_PYTHON_HINT)"; exit 1; fi; \
  $(PYTHON) -m coursetools.lockcheck --interpreter 2>/dev/null || { status=$$?; [ $$status -eq 3 ] || \
    echo "make: PYTHON=$(PYTHON) does not run as a Python 3 (exit status $$status): $(INSTALL_PYTHON_HINT)"; exit 1; }

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-requirements
PYTEST_ARGS ?=
GRADE_ARGS ?=

.PHONY: help env lab test test-fast lint release lock check-lock python gil-lab grade bench outputs clean \
	hub hub-stop hub-clean hub-proxy hub-env

help:
	@echo "make lab        start JupyterLab with the nbgrader extensions"
	@echo "make test       run every test (notebooks, grading pipeline, modules)"
	@echo "make test-fast  the quick tier for the edit loop: modules, scan, release and lock checks"
	@echo "make lint       ruff on the code and the notebooks"
	@echo "make test-python PY=3.14  the tests on CPython 3.14 or 3.15 in a Debian sid chroot (root)"
	@echo "make release    regenerate release/ from source/ with nbgrader"
	@echo "make grade      autograde submitted/, write feedback and grades.csv"
	@echo "make hub        the course on a local multi-user JupyterHub at 127.0.0.1:HUB_PORT (root; Ctrl-C stops it)"
	@echo "make hub-stop   stop it from another terminal; make hub-clean also removes its accounts and build/hub/"
	@echo "make gil-lab    run the full GIL experiment into build/gil-lab/"
	@echo "make bench      time every lesson under each start method"
	@echo "make outputs [LESSONS=course/NN_x.ipynb]  re-execute lessons in place, refused on a busy machine"
	@echo "make lock       recompile requirements.txt from requirements.in"
	@echo "make check-lock prove requirements.txt installs from wheels on every supported Python and platform"

# The environment is rebuilt whenever requirements.txt changes.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || { $(CHECK_PYTHON); $(PYTHON) -m venv $(VENV); }
	@$(BIN)/python -m coursetools.lockcheck --interpreter || { echo "make: remove .venv and run make again"; exit 1; }
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

# JupyterLab settings and server config that come with the environment (lab/README.md says what
# each does); copied again whenever one changes.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json \
                $(VENV)/etc/jupyter/jupyter_server_config.d/course.json
$(VENV)/share/jupyter/lab/settings/overrides.json: lab/overrides.json $(STAMP)
	@mkdir -p $(@D) && cp $< $@
$(VENV)/etc/jupyter/jupyter_server_config.d/course.json: lab/jupyter_server_config.json $(STAMP)
	@mkdir -p $(@D) && cp $< $@

env: $(STAMP) $(LAB_SETTINGS)

# Jupyter refuses to run as root (containers, VMs) without --allow-root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
# The exchange (nbgrader_config.py's Exchange.root) is made first, so Assignment List and
# Formgrader's release, collect and feedback work in this one-machine class.
lab: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/python -m coursetools.exchange
	$(BIN)/jupyter lab --notebook-dir=. $(LAB_ARGS)

# One pytest worker per core; each test starts its own kernels.  Tests that run
# `make grade` form one xdist group (loadgroup): they share one graded class.
test: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# No notebook, kernel or grader: under two minutes.
test-fast: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

# ruff on the code and the notebooks (tests/test_lint.py runs the same).
lint: $(STAMP)
	$(BIN)/ruff check .

# The tests on a Python this machine lacks, from Debian unstable in a chroot (.ci/pythons says how).
# PYTEST_ARGS as for `make test`, e.g. PYTEST_ARGS='-m "not slow"' or PYTEST_ARGS=tests/test_notebooks.py.
.PHONY: test-python
test-python:
	@test -n "$(PY)" || { echo 'make test-python PY=3.14 [PYTEST_ARGS=...]: which Python?' >&2; exit 2; }
	.ci/pythons $(PY) -n auto --dist loadgroup $(PYTEST_ARGS)

release: $(STAMP)
	$(BIN)/python -m coursetools.release

# Says which Python makes .venv, or why none can.
python:
	@$(CHECK_PYTHON)

# uv compiles and checks the lock; it lives in its own small environment, not in .venv, with
# the pip and packaging that check the free-threaded pairs (coursetools/lockcheck.py).
UV_VERSION   := 0.13.9
LOCK_TOOLS_PINS := uv==$(UV_VERSION) pip==26.3 packaging==26.3
LOCK_TOOLS   := build/lock-tools
LOCK_STAMP   := $(LOCK_TOOLS)/.installed-$(subst ==,-,$(subst $() ,_,$(LOCK_TOOLS_PINS)))
UV           := $(LOCK_TOOLS)/bin/uv

$(LOCK_STAMP):
	@$(CHECK_PYTHON)
	rm -rf $(LOCK_TOOLS)
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet $(LOCK_TOOLS_PINS)
	@touch $@

# One lock for every Python and platform, with markers where versions must differ (requirements.in
# says where).  uv keeps the versions already in requirements.txt wherever they still fit, and
# "fewest" keeps one version of a package for all Pythons unless requirements.in splits it.
lock: $(LOCK_STAMP)
	UV_CUSTOM_COMPILE_COMMAND="make lock" $(UV) pip compile --universal --python-version 3.11 \
	  --fork-strategy fewest --quiet -o requirements.txt requirements.in

# Asks the package index (the tests never use the network): a dry run per pair, nothing installed.
check-lock: $(LOCK_STAMP)
	$(LOCK_TOOLS)/bin/python -m coursetools.lockcheck --uv $(UV)

gil-lab: $(STAMP)
	$(BIN)/python -m coursetools.gil.lab

grade: $(STAMP)
	$(BIN)/python -m coursetools.grading $(GRADE_ARGS)

# The course on a local JupyterHub (coursetools/hub/; README: "Run the course on your JupyterHub").
# configurable-http-proxy comes from the npm registry, pinned by hub-proxy/package-lock.json.
HUB_PORT ?= 8000
HUB_PROXY_DIR := build/hub-proxy
HUB_PROXY := $(HUB_PROXY_DIR)/node_modules/.bin/configurable-http-proxy
$(HUB_PROXY): hub-proxy/package.json hub-proxy/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm not found: install Node.js 20 or newer (apt-get install nodejs npm)"; exit 1; }
	mkdir -p $(HUB_PROXY_DIR)
	cp hub-proxy/package.json hub-proxy/package-lock.json $(HUB_PROXY_DIR)/
	cd $(HUB_PROXY_DIR) && npm ci --no-audit --no-fund --omit=dev --loglevel=error
	@touch $@

hub-proxy: $(HUB_PROXY)

# The environment the users' servers run in: .venv, or, when its Python lives where other accounts
# cannot reach (under /root), one built by `make hub-env HUB_PYTHON=/usr/bin/python3.11`.
HUB_ENV ?= $(VENV)
HUB_PYTHON ?= /usr/bin/python3
hub: $(STAMP) $(LAB_SETTINGS) $(HUB_PROXY)
	$(BIN)/python -m coursetools.hub start --port $(HUB_PORT) --proxy $(CURDIR)/$(HUB_PROXY) --user-env $(HUB_ENV)

hub-env: requirements.txt pyproject.toml lab/overrides.json lab/jupyter_server_config.json
	$(HUB_PYTHON) -m venv build/hub-env
	build/hub-env/bin/python -m pip install --quiet -r requirements.txt
	build/hub-env/bin/python -m pip install --quiet --no-deps -e .
	build/hub-env/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	mkdir -p build/hub-env/share/jupyter/lab/settings build/hub-env/etc/jupyter/jupyter_server_config.d
	cp lab/overrides.json build/hub-env/share/jupyter/lab/settings/
	cp lab/jupyter_server_config.json build/hub-env/etc/jupyter/jupyter_server_config.d/course.json

hub-stop: $(STAMP)
	$(BIN)/python -m coursetools.hub stop

hub-clean: $(STAMP)
	$(BIN)/python -m coursetools.hub clean

bench: $(STAMP)
	$(BIN)/python -m coursetools.bench.lessons

# Committed outputs come from a quiet machine: refuses (exit status 3, with the reasons) when the
# load average or a 1 s sample says the cores are busy.  LESSONS: default every lesson;
# OUTPUTS_ARGS e.g. --max-load 0.3, or --busy-ok to execute anyway.
LESSONS ?=
OUTPUTS_ARGS ?=
outputs: $(STAMP)
	$(BIN)/python -m coursetools.notebooks outputs $(OUTPUTS_ARGS) $(LESSONS)

clean:
	rm -rf build autograded/*/ feedback .pytest_cache
