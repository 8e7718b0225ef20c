# Berth's make targets. `make run` and `make test` are the two set-up commands
# a fresh machine needs; both install what they use and are safe to run twice.

GO        ?= go
BIN       := bin/berth
TOOLS_BIN := $(CURDIR)/.tools/bin
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
export BERTH_TOOLS_BIN := $(TOOLS_BIN)

.PHONY: all build run run-deps test unit e2e soak soak-check soak-broken bench bench-cluster fuzz lint deps tools clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/berth

# deps installs the system packages and Go tools the tests and `make run` use.
deps:
	./scripts/install-deps.sh

tools:
	./scripts/build-tools.sh

# run-deps installs only what `make run` uses: the tests' packages and tools
# (ZooKeeper, nginx, chromium, Consul, consul-template, staticcheck) would
# make the first run wait for minutes.
run-deps:
	./scripts/install-deps.sh --run

# run prints the web UI's address (http://127.0.0.1:8080/ui/) once up.
run: build run-deps
	./scripts/run-examples.sh

# test runs every test, including integration tests against real ZooKeeper,
# Consul, nginx, Docker and Git, after installing what they need.
# The end-to-end tests run alone, after the rest: they start whole clusters
# (ZooKeeper ensembles, servers, agents, Consul, nginx) and should not share
# the two cores with every other package's integration tests. The soak
# (two 2-minute runs, e2e/soak) runs last, on its own: its agents use the
# same loopback addresses and host ports as the e2e tests'.
test: deps lint
	$(GO) test -count=1 -timeout 12m $$($(GO) list ./... | grep -v -e '/e2e$$' -e '/e2e/soak$$')
	$(GO) test -count=1 -timeout 12m ./e2e/
	$(GO) test -count=1 -timeout 20m ./e2e/soak/

unit:
	$(GO) test -short -count=1 ./...

e2e: deps build
	$(GO) test -count=1 -timeout 15m -run 'TestWalkthrough|TestDrill' ./e2e/...

# soak runs the randomized fault soak for SOAK (default 10m) with SEED
# (random when unset; the report prints it for a replay), and ends with
# `faults: N`, `violations: N`, `converge_s: X` and each violation. See
# docs/reliability.md.
SOAK ?= 10m
SEED ?=
soak: deps
	./scripts/soak.sh $(SOAK) $(SEED)

# soak-check judges a history a soak wrote (HISTORY=soak-out/berth-soak-...json)
# again with today's checker and prints the same report.
HISTORY ?=
soak-check:
	BERTH_SOAK_CHECK=$(abspath $(HISTORY)) $(GO) test -count=1 -run '^TestCheckHistoryFile$$' -v ./e2e/soak/

# soak-broken shows the soak's checker failing on a real broken build: one
# rolling upgrade decided by berth built with -tags berth_broken_capacity
# (rollouts kill every old task at once) must be reported as
# rollout-below-minimum-health-capacity, and one decided by the real build
# must not. It also runs in `make test`.
soak-broken: deps
	$(GO) test -count=1 -timeout 10m -run '^TestBrokenCapacityBuildIsCaught$$' -v ./e2e/soak/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-cluster runs `berth bench cluster` against a ZooKeeper of its own
# (4 GiB heap, maxClientCnxns=0): two leaders and AGENTS simulated agents.
AGENTS ?= 500
TASKS  ?= 15000
bench-cluster: build
	./scripts/bench-cluster.sh $(AGENTS) $(TASKS)

FUZZTIME ?= 5m
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

lint: tools
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(TOOLS_BIN)/staticcheck ./...

clean:
	rm -rf bin
