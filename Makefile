# Two commands: `make demo` (set up, ingest the demo catalog, start the UI) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: demo test install browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU build of torch first (a local file here); nothing below may pull a CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	# llama.cpp is compiled for AVX2, not -march=native: native builds on VMs that hide AMX from the
	# kernel die with a general protection fault in libggml-cpu at the first token.
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

demo: install
	$(BIN)/shopassist demo

test: install browser
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) var
