module weft.dev/benchmarks/openloop

go 1.19
