# The shop's commands. `make dev` and `make test` install everything they need themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .cache/venv
PY := $(VENV)/bin/python
CARGO ?= cargo
# Binaries are run straight from the workspace build: `cargo run -p <one package>` resolves
# that package's features alone and would rebuild the AWS SDK differently from `make build`.
BIN := $(or $(CARGO_TARGET_DIR),target)/debug
EDGE_PORT ?= 4566
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv tools build dev seed token test bench lint fmt package deploy clean
ROLE ?= User
N ?= 0
# Every template `sam deploy` deploys: the root, one per service, the shared modules.
TEMPLATES := template.yaml $(wildcard functions/*/template.yaml) $(wildcard infra/*.yaml)

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The venv is rebuilt whenever the pinned requirements change (the stamp holds their text).
$(VENV)/.requirements: localstack/requirements.txt
	@echo "make: creating $(VENV) (moto, aws-sam-translator, cfn-lint; once)"
	@rm -rf $(VENV) && python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r localstack/requirements.txt
	@cp localstack/requirements.txt $@

$(VENV)/.tools: $(VENV)/.requirements localstack/requirements-tools.txt
	@echo "make: installing sam and cargo-lambda into $(VENV) (once)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r localstack/requirements.txt -r localstack/requirements-tools.txt
	@cp localstack/requirements-tools.txt $@

venv: $(VENV)/.requirements ## create the Python venv of the local cloud

tools: $(VENV)/.tools ## install the deploy/lint tools (sam, cargo-lambda) into the venv

build: ## build every function and the local cloud (debug, native)
	$(CARGO) build --workspace --bins

# `ready` is printed once the seed has run; VERBOSE=1 lists every resource not emulated.
dev: venv build ## run the shop locally with a seeded catalog: API on :3000, AWS edge on :4566 (Ctrl-C stops it); PARAMS="PaymentTimeoutSeconds=5 B=2" overrides template parameters
	$(BIN)/localcloud --no-build --edge-port $(EDGE_PORT) --after-ready "$(BIN)/seed" $(if $(VERBOSE),--verbose) $(foreach p,$(PARAMS),--parameter '$(p)')

seed: build ## add N generated products to the running shop (`make seed N=10000`; needs `make dev`)
	$(BIN)/seed $(N)

token: ## print a local bearer token for ROLE=User|Seller|Admin (needs `make dev` running)
	@$(CARGO) build --quiet --workspace --bins
	@$(BIN)/localcloud token --role $(ROLE)

test: venv build ## run every test: unit, adapter, local-cloud fixture and end-to-end
	$(CARGO) test --workspace --no-fail-fast

fmt: ## format the code
	$(CARGO) fmt --all

# The bench builds the release binaries it measures itself, in one `cargo build`.
bench: venv build ## measure the catalog functions (release builds): size, init, RSS, warm latency; the cart's hot routes; checkout
	$(BIN)/bench

lint: tools ## fmt check, clippy -D warnings, cfn-lint, sam validate --lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint $(TEMPLATES) localstack/tests/fixture/template.yaml
	@for template in $(TEMPLATES); do \
	  echo "sam validate --lint --template $$template"; \
	  $(PY) -m samcli validate --lint --template $$template || exit 1; \
	done

# The deploy build (infra/build/Makefile): one release build of the workspace for ARCH, then
# each function's binary copied. `sam` does not tell make the architecture, so it is set here.
ARCH ?= arm64
STAGE ?= dev
PARAMS ?=
LAMBDA_TARGET := $(if $(filter x86_64,$(ARCH)),x86_64,aarch64)-unknown-linux-gnu
SAM := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" LAMBDA_TARGET=$(LAMBDA_TARGET) $(PY) -m samcli

package: tools ## sam build of every function for ARCH=arm64|x86_64 (into .aws-sam/)
	$(SAM) build --parameter-overrides Architecture=$(ARCH) Stage=$(STAGE) $(PARAMS)

deploy: package ## build for Lambda and deploy to your AWS account (ARCH, STAGE, PARAMS="Name=Value …")
	$(SAM) deploy --stack-name shop-$(STAGE) --s3-prefix shop-$(STAGE) \
	  --parameter-overrides Architecture=$(ARCH) Stage=$(STAGE) $(PARAMS)

clean: ## remove build output and the venv
	$(CARGO) clean
	rm -rf .cache .aws-sam
