"""Benchmarks, not tests (see bench/README.md): the rush against the full stack (`python -m bench.rush`,
`make bench`) and the in-process booking and waiting-room benchmarks (run as scripts)."""
