# The two quick-start commands: `make run` (set up + launch the app) and `make test` (set up + run all tests).
.PHONY: run test bench-startup
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
